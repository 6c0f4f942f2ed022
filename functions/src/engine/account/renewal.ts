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
  // Each watch on its own: one that cannot be renewed must not let the others expire.
  const failures: Error[] = [];
  /** Whether `renew` renewed something (it answers `false` when nothing was due). */
  const attempt = async (renew: () => Promise<unknown>): Promise<boolean> => {
    try {
      return (await renew()) !== false;
    } catch (error) {
      failures.push(error instanceof Error ? error : new Error(String(error)));
      return false;
    }
  };
  const renewed = { gmail: false, calendar: false };
  if (due(source.watchExpiration)) renewed.gmail = await attempt(() => withReRegistration(deps, sourceId, 'gmail', () => registerGmailWatch(deps, sourceId)));
  for (const calendarId of syncedCalendars(source)) {
    if (!due(calendarState(source, calendarId).channelExpiration)) continue;
    if (await attempt(() => renewCalendarChannel(deps, sourceId, calendarId))) renewed.calendar = true;
  }
  if (await attempt(() => renewing(CALENDAR_LIST, () => keepCalendarListWatch(deps, sourceId, due)))) renewed.calendar = true;
  await setRenewalError(deps, sourceId, failures.length === 0 ? null : failures.map(describeFailure).join('; '));
  const unexpected = failures.find((error) => !isGoogleError(error instanceof CalendarRenewalError ? error.cause : error));
  if (unexpected !== undefined) throw unexpected;
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

/** A new channel on one calendar, the old one stopped; Google forgetting it re-registers once. */
function renewCalendarChannel(deps: WatchDeps, sourceId: string, calendarId: string): Promise<Source> {
  return renewing(calendarId, () => withReRegistration(deps, sourceId, { calendarId }, () => replaceCalendarChannel(deps, sourceId, calendarId)));
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
