import { syncedCalendars, calendarState } from '../calendar/state';
import { isGoogleError } from '../errors';
import type { Source } from '../model';
import type { Clock, GoogleAccess, Logger } from '../ports';
import type { ListedToken } from '../source/lease';
import type { SourceStore } from '../source/ports';
import { pollMayAskFirst, quietPollChecked } from '../source/quiet-poll';
import type { StatusSettings } from '../source/status';
import type { TaskRule } from '../task-rule';
import type { GmailProbe } from './gmail-probe';
import type { RunTrigger } from './trigger';
import { LOG_EVENTS } from '../../observability/log-events';

/**
 * A fallback poll that asks before the lease (source/quiet-poll.ts): Gmail was asked by the
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

/** True when the poll found nothing and its check is written: the run is over. */
export async function pollFoundNothing(deps: PollFirstDeps, source: Source, trigger: RunTrigger, probe: GmailProbe): Promise<boolean> {
  if (trigger.kind !== 'check' || trigger.trigger !== 'poll' || !trigger.calendar || probe.seen !== null || source.historyId === null) return false;
  const now = deps.clock.now();
  if (!pollMayAskFirst(source, now, deps.taskRule)) return false;
  const calendars = await calendarsQuiet(deps.google, source);
  if (calendars === null) return false;
  const checked = await deps.sources.transition(source.id, now, quietPollChecked({ historyId: source.historyId, calendars }, now, deps.statusSettings));
  // Logged as the passes that found nothing were: the sync metrics and alerts count them.
  const durationMs = deps.clock.now().getTime() - now.getTime();
  if (checked) for (const _ of Object.keys(calendars)) deps.logger.info(LOG_EVENTS.syncFinished('calendar'), { sourceId: source.id, type: 'calendar', trigger: 'poll', counts: { pages: 1, events: 0 }, durationMs });
  return checked;
}

/** Each synced calendar's listing from its token, when none shows anything; else `null`. */
async function calendarsQuiet(google: GoogleAccess, source: Source): Promise<Record<string, ListedToken> | null> {
  const listed = await Promise.all(syncedCalendars(source).map(async (calendarId) => [calendarId, await listedNothing(google, source, calendarId)] as const));
  const quiet = listed.flatMap(([calendarId, token]) => (token === null ? [] : [[calendarId, token] as const]));
  return quiet.length === listed.length ? Object.fromEntries(quiet) : null;
}

/**
 * One `events.list` from the calendar's stored token: the tokens it began and ended with when
 * it shows nothing, else `null` (something changed, or no clear answer: the pass lists it and
 * handles what Google says). Transient failures are thrown: the poll is retried.
 */
async function listedNothing(google: GoogleAccess, source: Source, calendarId: string): Promise<ListedToken | null> {
  const from = calendarState(source, calendarId).syncToken;
  if (from === null) return null;
  try {
    const api = await google.calendar(source, calendarId);
    const page = await api.listEvents({ syncToken: from, pageToken: null, maxResults: PROBE_PAGE_SIZE });
    const empty = page.events.length === 0 && page.nextPageToken === null;
    return empty && page.nextSyncToken !== null ? { from, to: page.nextSyncToken } : null;
  } catch (error) {
    if (isGoogleError(error) && error.transient) throw error;
    return null;
  }
}
