import type { GoogleError } from '../errors';
import { PRIMARY_CALENDAR, type IngestionTrigger, type Source } from '../model';
import { calendarChecked, calendarState, calendarStateChange, syncedCalendars } from '../calendar/state';
import { missedPushAfterRun, withStatus, type StatusSettings } from './status';

/**
 * What a sync pass did, and how that changes the source: applied by the runner inside the
 * write that ends the run step, so the status costs no write of its own.
 */
export type PassOutcome =
  | { ok: true; changed: boolean }
  /**
   * A permanent Google failure (transient ones are rethrown, never recorded here), with the
   * source's `credentialsAt` when the pass took its credentials.
   */
  | { ok: false; error: GoogleError | null; credentialsAt: Date | null };

/** Which pass: what started it, and the calendar a Calendar pass listed (absent: the primary one, or Gmail). */
export interface PassKind {
  trigger: IngestionTrigger;
  calendarId?: string | undefined;
}

/**
 * A poll that found changes means a push went missing; a push-driven run means pushes flow
 * again. A revoked grant or a missing permission disconnects; any other failure counts. A
 * calendar other than the primary one counts its own failures, and Calendar refusing that
 * calendar alone (its sharing) is one of them: it says nothing about the account.
 */
export function afterPass(before: Source, outcome: PassOutcome, pass: PassKind, now: Date, settings: StatusSettings): Source {
  const calendarId = pass.calendarId ?? PRIMARY_CALENDAR;
  const synced = syncedCalendars(before).includes(calendarId);
  // A Calendar pass checked its calendar, whatever it found; a Gmail pass checked none.
  const source = pass.calendarId !== undefined && synced ? { ...before, ...calendarChecked(before, calendarId, now) } : before;
  if (calendarId !== PRIMARY_CALENDAR && synced) {
    const failedHere = !outcome.ok && (outcome.error?.kind !== 'auth-revoked' || refusesOnlyItsCalendar(outcome.error, calendarId));
    const syncErrors = failedHere ? calendarState(source, calendarId).syncErrors + 1 : 0;
    const counted: Source = { ...source, ...calendarStateChange(source, calendarId, { syncErrors }) };
    if (failedHere) return withStatus({ ...counted, lastCheckAt: now }, now, settings);
    return accountAfterPass(counted, outcome, pass.trigger, now, settings);
  }
  return accountAfterPass(source, outcome, pass.trigger, now, settings);
}

/**
 * Calendar refused one calendar other than the primary one (its sharing, as classified),
 * while the grant itself stands: a failure of that calendar alone, which says nothing about
 * the account's other calendars. A missing scope, a disabled API, a domain policy or a
 * revoked grant refuse them all, and the primary calendar's refusal is the account's.
 */
export function refusesOnlyItsCalendar(error: GoogleError | null, calendarId: string | undefined): boolean {
  return calendarId !== undefined && calendarId !== PRIMARY_CALENDAR && error?.refusesOneCalendar === true;
}

function accountAfterPass(source: Source, outcome: PassOutcome, trigger: IngestionTrigger, now: Date, settings: StatusSettings): Source {
  if (outcome.ok) {
    const missedPushAt = missedPushAfterRun(source.missedPushAt, { trigger, changed: outcome.changed }, now, settings);
    return withStatus({ ...source, lastSyncAt: now, lastCheckAt: now, consecutiveErrors: 0, missedPushAt }, now, settings);
  }
  if (outcome.error?.kind === 'auth-revoked') {
    // Google refused credentials a reconnect (or disconnect) has replaced since: that says
    // nothing about the ones stored now.
    if (!sameTime(outcome.credentialsAt, source.credentialsAt)) return source;
    return withStatus({ ...source, disconnectReason: disconnectReasonFor(outcome.error), lastCheckAt: now }, now, settings);
  }
  return withStatus({ ...source, consecutiveErrors: source.consecutiveErrors + 1, lastCheckAt: now }, now, settings);
}

function disconnectReasonFor(error: GoogleError): string {
  return error.details.reason === 'invalid_grant'
    ? 'Google access was revoked; reconnect the account'
    : 'A required Google permission is missing; reconnect the account';
}

function sameTime(a: Date | null, b: Date | null): boolean {
  return a === null || b === null ? a === b : a.getTime() === b.getTime();
}
