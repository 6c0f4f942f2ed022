import { syncedCalendars, calendarState } from '../calendar/state';
import type { CalendarApi } from '../calendar/ports';
import type { Source } from '../model';
import type { Clock, GoogleAccess, Logger } from '../ports';
import type { ListedToken } from '../source/lease';
import type { SourceStore } from '../source/ports';
import { pollMayAskFirst, quietPollChecked } from '../source/quiet-poll';
import type { StatusSettings } from '../source/status';
import type { TaskRule } from '../task-rule';
import type { GmailProbe } from './gmail-probe';
import { logStatusChange } from './status-log';
import type { RunTrigger } from './trigger';
import { LOG_EVENTS } from '../../observability/log-events';

/**
 * A fallback poll that asks before the lease (source/quiet-poll.ts): Gmail is asked by the
 * probe; here each synced calendar is listed from its token, and a poll that found nothing
 * anywhere ends with the one write the decision makes. Anything found, anything unclear, or a
 * source that moved on meanwhile: the poll runs as any poll does, with the lease.
 */

export interface PollFirstDeps {
  sources: SourceStore;
  google: GoogleAccess;
  clock: Clock;
  logger: Logger;
  taskRule: TaskRule;
  statusSettings: StatusSettings;
}

/** One event listed is enough to know the calendar has changes: the pass lists them all. */
const PROBE_PAGE_SIZE = 1;

/** One synced calendar to ask: its client and the token stored for it. */
interface CalendarToAsk {
  calendarId: string;
  api: CalendarApi;
  from: string | null;
}

/** A poll's calendar listings, asked for alongside Gmail's probe, and when. */
export interface PollAsk {
  at: Date;
  calendars: Promise<Record<string, ListedToken> | null>;
}

/**
 * Starts listing each synced calendar from its token when the trigger is a fallback poll on a
 * source with nothing else due (`null` otherwise): alongside Gmail's probe, not after it, so a
 * poll holds its instance for one round trip to Google, not two. Wasted (one listing per
 * calendar) only when Gmail shows work. The clients come first, one after another: the
 * account's credentials are read once, and Gmail's probe finds them read.
 */
export async function askCalendarsFirst(deps: PollFirstDeps, source: Source, trigger: RunTrigger): Promise<PollAsk | null> {
  const at = deps.clock.now();
  if (trigger.kind !== 'check' || trigger.trigger !== 'poll' || !trigger.calendar || !pollMayAskFirst(source, at, deps.taskRule)) return null;
  const apis = await calendarClients(deps.google, source);
  if (apis === null) return null;
  return { at, calendars: calendarsQuiet(apis) };
}

/** Each synced calendar's client and stored token; `null` without usable credentials (the pass finds out and reports it). */
async function calendarClients(google: GoogleAccess, source: Source): Promise<CalendarToAsk[] | null> {
  const apis: CalendarToAsk[] = [];
  try {
    for (const calendarId of syncedCalendars(source)) apis.push({ calendarId, api: await google.calendar(source, calendarId), from: calendarState(source, calendarId).syncToken });
  } catch {
    return null;
  }
  return apis;
}

/** True when the poll found nothing, at Gmail or any calendar, and its check is written: the run is over. */
export async function pollFoundNothing(deps: PollFirstDeps, source: Source, asked: PollAsk | null, probe: GmailProbe): Promise<boolean> {
  if (asked === null || probe.seen !== null || source.historyId === null) return false;
  const calendars = await asked.calendars;
  if (calendars === null) return false;
  const { at } = asked;
  const checked = await deps.sources.transition(source.id, at, quietPollChecked({ historyId: source.historyId, calendars }, at, deps.statusSettings));
  if (checked === null) return false;
  logStatusChange(deps.logger, source.id, checked.previous, checked.source);
  // Logged as the passes that found nothing were: the sync metrics and alerts count them.
  const durationMs = deps.clock.now().getTime() - at.getTime();
  for (const _ of Object.keys(calendars)) deps.logger.info(LOG_EVENTS.syncFinished('calendar'), { sourceId: source.id, type: 'calendar', trigger: 'poll', counts: { pages: 1, events: 0 }, durationMs });
  return true;
}

/** Each synced calendar's listing from its token, when none shows anything; else `null`. */
async function calendarsQuiet(apis: readonly CalendarToAsk[]): Promise<Record<string, ListedToken> | null> {
  const listed = await Promise.all(apis.map(async ({ calendarId, api, from }) => [calendarId, await listedNothing(api, from)] as const));
  const quiet = listed.flatMap(([calendarId, token]) => (token === null ? [] : [[calendarId, token] as const]));
  return quiet.length === listed.length ? Object.fromEntries(quiet) : null;
}

/**
 * One `events.list` from the calendar's stored token: the tokens it began and ended with when
 * it shows nothing, else `null` (something changed, or no clear answer: the pass lists it and
 * handles what Google says). A failure of any kind, transient too, is left to the pass, which
 * counts it in the status: thrown here, it would fail every poll before anything is recorded.
 */
async function listedNothing(api: CalendarApi, from: string | null): Promise<ListedToken | null> {
  if (from === null) return null;
  try {
    const page = await api.listEvents({ syncToken: from, pageToken: null, maxResults: PROBE_PAGE_SIZE });
    const empty = page.events.length === 0 && page.nextPageToken === null;
    return empty && page.nextSyncToken !== null ? { from, to: page.nextSyncToken } : null;
  } catch {
    return null;
  }
}
