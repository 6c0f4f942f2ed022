import { PRIMARY_CALENDAR, type CalendarState, type Source, type SourceStatus } from '../model';
import { syncedCalendars } from '../calendar/state';
import { changedFields, type SourcePatch } from './lease';

/**
 * The status rules: one pure function of a source's state and the clock. Every writer of
 * status goes through it; nothing else decides whether a source is active.
 */

export interface StatusSettings {
  /** Repeated errors in a row that make a source degraded. */
  errorThreshold: number;
  /**
   * After this long with neither a push nor a check, the fallback poll is due; after twice
   * as long it has evidently not run, and the source is degraded.
   */
  fallbackAfterMs: number;
}

export const DEFAULT_STATUS_SETTINGS: StatusSettings = { errorThreshold: 3, fallbackAfterMs: 10 * 60_000 };

export interface DerivedStatus {
  status: SourceStatus;
  statusReason: string | null;
  /** Drives the banner: changes reach us by polling, not (only) by push. */
  polling: boolean;
}

export type StatusInputs = Pick<
  Source,
  | 'disconnectReason'
  | 'consecutiveErrors'
  | 'watchExpiration'
  | 'calendarChannelExpiration'
  | 'missedPushAt'
  | 'renewalError'
  | 'lastPushAt'
  | 'lastCheckAt'
  | 'gmailResync'
  | 'gmailRule'
  | 'gmailRuleApply'
> &
  Partial<Pick<Source, 'calendars' | 'calendarSelection'>>;

function ageMs(at: Date | null, now: Date): number {
  return at === null ? Number.POSITIVE_INFINITY : now.getTime() - at.getTime();
}

/** Why pushes cannot be trusted, so the fallback poll covers the source; `null` when they can. */
function pollingReason(source: StatusInputs, now: Date): string | null {
  if (source.watchExpiration === null) return 'No Gmail watch registered';
  if (source.watchExpiration <= now) return 'Gmail watch expired';
  const channelProblem = firstCalendarProblem(source, (state) => channelProblemOf(state, now));
  if (channelProblem !== null) return channelProblem;
  if (source.missedPushAt !== null) return 'A poll found changes that no push announced';
  return null;
}

/** A walk in progress: a resync after history expired, or a rule change being applied. */
function catchingUp(source: StatusInputs): string | null {
  if (source.gmailResync !== null) return `Catching up after a long outage: ${source.gmailResync.imported} messages imported so far`;
  if (source.gmailRuleApply !== null) return `Applying new rules: ${source.gmailRuleApply.imported} imported`;
  return null;
}

export function deriveStatus(source: StatusInputs, now: Date, settings: StatusSettings = DEFAULT_STATUS_SETTINGS): DerivedStatus {
  if (source.disconnectReason !== null) return { status: 'disconnected', statusReason: source.disconnectReason, polling: false };
  const degraded = (statusReason: string, polling: boolean): DerivedStatus => ({ status: 'degraded', statusReason, polling });
  // A rule that cannot apply says so before anything else: nothing else can be fixed first.
  if (source.gmailRule?.problem) return degraded(source.gmailRule.problem, false);
  const unwatched = pollingReason(source, now);
  if (unwatched !== null) return degraded(unwatched, true);
  const walking = catchingUp(source);
  if (walking !== null) return degraded(walking, false);
  if (source.renewalError !== null) return degraded(`Watch renewal failed: ${source.renewalError}`, false);
  if (source.consecutiveErrors >= settings.errorThreshold) return degraded(`${source.consecutiveErrors} sync errors in a row`, false);
  const syncProblem = firstCalendarProblem(source, (state) => (state.syncErrors >= settings.errorThreshold ? `${state.syncErrors} Calendar sync errors in a row` : null));
  if (syncProblem !== null) return degraded(syncProblem, false);
  const silentMs = Math.min(ageMs(source.lastPushAt, now), ageMs(source.lastCheckAt, now));
  if (silentMs >= 2 * settings.fallbackAfterMs) {
    return degraded(`No push and no check for ${Math.floor(silentMs / 60_000)} min: the fallback poll is not running`, true);
  }
  return { status: 'active', statusReason: null, polling: false };
}

type CalendarHealth = Pick<CalendarState, 'channelExpiration' | 'syncErrors'>;

/** Each synced calendar's channel and error count (the primary calendar's errors are the source's). */
function syncedCalendarHealth(source: StatusInputs): [string, CalendarHealth][] {
  const calendars = source.calendars ?? {};
  return syncedCalendars({ calendarSelection: source.calendarSelection ?? PRIMARY_CALENDAR, calendars }).map((calendarId) => [
    calendarId,
    calendarId === PRIMARY_CALENDAR ? { channelExpiration: source.calendarChannelExpiration, syncErrors: 0 } : (calendars[calendarId] ?? { channelExpiration: null, syncErrors: 0 }),
  ]);
}

/** The first synced calendar's problem, naming the calendar unless it is the primary one. */
function firstCalendarProblem(source: StatusInputs, problemOf: (state: CalendarHealth) => string | null): string | null {
  for (const [calendarId, state] of syncedCalendarHealth(source)) {
    const problem = problemOf(state);
    if (problem !== null) return calendarId === PRIMARY_CALENDAR ? problem : `${problem}: calendar ${calendarId}`;
  }
  return null;
}

/** What is wrong with a calendar's channel, if anything: the status page shows it per calendar. */
export function channelProblemOf(state: Pick<CalendarState, 'channelExpiration'>, now: Date): string | null {
  if (state.channelExpiration === null) return 'No Calendar channel registered';
  return state.channelExpiration <= now ? 'Calendar channel expired' : null;
}

/**
 * `missedPushAt` after a successful run: a poll that found changes sets it, a push-driven run
 * clears it (pushes flow), and so does a poll that found nothing, once at least half a poll
 * interval has passed since it was set (a quiet mailbox would otherwise stay degraded forever,
 * and the Calendar half of the very poll that set it must not clear it).
 */
export function missedPushAfterRun(
  previous: Date | null,
  run: { trigger: string; changed: boolean },
  now: Date,
  settings: StatusSettings = DEFAULT_STATUS_SETTINGS,
): Date | null {
  if (run.trigger === 'push') return null;
  if (run.trigger !== 'poll') return previous;
  if (run.changed) return now;
  const settled = previous !== null && now.getTime() - previous.getTime() >= settings.fallbackAfterMs / 2;
  return settled ? null : previous;
}

/** Applies a change to a source and re-derives its status from the result. */
export function withStatus<T extends StatusInputs>(next: T, now: Date, settings: StatusSettings = DEFAULT_STATUS_SETTINGS): T & DerivedStatus {
  return { ...next, ...deriveStatus(next, now, settings) };
}

/** The fields status is derived from. */
const STATUS_INPUTS: readonly (keyof StatusInputs)[] = [
  'disconnectReason',
  'consecutiveErrors',
  'watchExpiration',
  'calendarChannelExpiration',
  'missedPushAt',
  'renewalError',
  'lastPushAt',
  'lastCheckAt',
  'gmailResync',
  'gmailRule',
  'gmailRuleApply',
  'calendars',
  'calendarSelection',
];

/** The source a decision leads to, its status re-derived when a field status is derived from changed. */
export type StatusDerivation = (before: Source, after: Source) => Source;

export function statusDerivation(now: Date, settings: StatusSettings): StatusDerivation {
  return (before, after) => {
    const changed = changedFields(before, after);
    const touched = changed !== null && STATUS_INPUTS.some((key) => key in changed);
    return touched ? withStatus(after, now, settings) : after;
  };
}

/**
 * A decision's patch, with the status fields its result implies: the store applies every
 * decision through this, so status always follows the fields it is derived from.
 */
export function withDerivedStatus(source: Source, patch: SourcePatch, now: Date, settings: StatusSettings): SourcePatch {
  const next: Source = { ...source, ...patch };
  return { ...patch, ...changedFields(next, statusDerivation(now, settings)(source, next)) };
}
