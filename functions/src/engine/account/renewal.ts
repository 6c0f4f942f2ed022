import { isGoogleError } from '../errors';
import { PRIMARY_CALENDAR, type Source } from '../model';
import { calendarState, syncedCalendars } from '../calendar/state';
import { renewalFinished, watchForgotten } from '../source/decisions';
import { keepCalendarListWatch, registerGmailWatch, replaceCalendarChannel, type WatchDeps } from './watches';

/**
 * Renews one source's watches when they are missing, expired or expire within
 * `renewBeforeMs`. Gmail: users.watch again. Calendar: a new channel first, then the old one
 * is stopped (both deliver during the overlap; the runner makes the duplicates harmless).
 * The calendar list's channel likewise, or stopped when the choice no longer needs it.
 * Google answering 404/410 clears the watch fields and re-registers once. A failure is
 * recorded on the source (degraded, with the reason) and retried at the next hourly run.
 */
export async function renewSourceWatches(deps: WatchDeps, sourceId: string, renewBeforeMs: number): Promise<{ gmail: boolean; calendar: boolean }> {
  const source = await deps.sources.get(sourceId);
  if (!source || source.status === 'disconnected') return { gmail: false, calendar: false };
  const cutoff = new Date(deps.clock.now().getTime() + renewBeforeMs);
  const due = (expiration: Date | null) => expiration === null || expiration < cutoff;
  const renewed = { gmail: false, calendar: false };
  try {
    if (due(source.watchExpiration)) {
      await withReRegistration(deps, sourceId, 'gmail', () => registerGmailWatch(deps, sourceId));
      renewed.gmail = true;
    }
    const channels = await renewCalendarChannels(deps, source, due);
    const list = await renewing(CALENDAR_LIST, () => keepCalendarListWatch(deps, sourceId, due));
    renewed.calendar = channels || list;
    await setRenewalError(deps, sourceId, null);
  } catch (error) {
    await setRenewalError(deps, sourceId, describeFailure(error));
    if (!isGoogleError(error instanceof CalendarRenewalError ? error.cause : error)) throw error;
  }
  return renewed;
}

/** What a renewal failure names for the calendar list's channel. */
const CALENDAR_LIST = 'list';

/** A calendar's channel (or the calendar list's) could not be renewed: the reason names it. */
class CalendarRenewalError extends Error {
  constructor(readonly calendarId: string, override readonly cause: unknown) {
    super(`Calendar ${calendarId}: channel renewal failed`);
    this.name = 'CalendarRenewalError';
  }
}

function describeFailure(error: unknown): string {
  if (error instanceof CalendarRenewalError) {
    const kind = describeFailure(error.cause);
    return error.calendarId === PRIMARY_CALENDAR ? kind : `${kind} (calendar ${error.calendarId})`;
  }
  return isGoogleError(error) ? error.kind : 'internal error';
}

/** Each synced calendar's channel renewed on its own when due; true when any was. */
async function renewCalendarChannels(deps: WatchDeps, source: Source, due: (expiration: Date | null) => boolean): Promise<boolean> {
  let renewed = false;
  for (const calendarId of syncedCalendars(source)) {
    if (!due(calendarState(source, calendarId).channelExpiration)) continue;
    await renewing(calendarId, () => withReRegistration(deps, source.id, { calendarId }, () => replaceCalendarChannel(deps, source.id, calendarId)));
    renewed = true;
  }
  return renewed;
}

async function renewing<T>(calendarId: string, renew: () => Promise<T>): Promise<T> {
  try {
    return await renew();
  } catch (error) {
    throw new CalendarRenewalError(calendarId, error);
  }
}

/** Google no longer knows the watch (404/410): forget it and register a fresh one, once. */
async function withReRegistration<T>(deps: WatchDeps, sourceId: string, which: 'gmail' | { calendarId: string }, register: () => Promise<T>): Promise<T> {
  try {
    return await register();
  } catch (error) {
    if (!isGoogleError(error, 'not-found') && !isGoogleError(error, 'cursor-invalid')) throw error;
    await deps.sources.transition(sourceId, deps.clock.now(), watchForgotten(which));
    return register();
  }
}

async function setRenewalError(deps: WatchDeps, sourceId: string, renewalError: string | null): Promise<Source> {
  return deps.sources.transition(sourceId, deps.clock.now(), renewalFinished(renewalError));
}
