import { LeaseLostError } from '../errors';
import { historyIdAfter, isNewerHistoryId, maxHistoryId } from '../gmail/history-id';
import { walkWaitsUntil } from '../gmail/read-lag';
import { calendarState, calendarStateChange } from '../calendar/state';
import { NO_PENDING, type AnnouncedWork, type Lease, type Pending, type Source, type SourceData } from '../model';

/**
 * The lease and pending decisions, as pure functions of a source's state and the clock. The
 * store asks one of these about a version of the source and writes back only the fields
 * the decision changed (`patch`), on condition that the document is still at that version (else
 * it asks again), so one run step costs one atomic write and a field this code does not know
 * (written by a newer version) survives.
 */

/** The fields a decision changes; `null` when it changes nothing (no write). */
export type SourcePatch = Partial<SourceData>;

export interface Decision<T> {
  patch: SourcePatch | null;
  result: T;
}

// A push refreshes `lastPushAt` at most this often, so that duplicate pushes cost no write.
const PUSH_STAMP_INTERVAL_MS = 60_000;

export function hasPending(pending: Pending): boolean {
  return pending.gmail !== null || pending.calendar || pending.calendars.length > 0;
}

export function holds(source: SourceData, owner: string, now: Date): boolean {
  return source.lease !== null && source.lease.owner === owner && source.lease.until > now;
}

export function leaseLive(source: SourceData, now: Date): boolean {
  return source.lease !== null && source.lease.until > now;
}

export function leaseFor(owner: string, now: Date, leaseMs: number): Lease {
  return { owner, until: new Date(now.getTime() + leaseMs) };
}

export function needsPushStamp(source: SourceData, pushAt: Date): boolean {
  return source.lastPushAt === null || pushAt.getTime() - source.lastPushAt.getTime() >= PUSH_STAMP_INTERVAL_MS;
}

/** Merges two sets of pending work: the newer Gmail id, either Calendar flag, every calendar named. */
export function mergePending(a: Pending, b: Pending): Pending {
  return { gmail: maxHistoryId(a.gmail, b.gmail), calendar: a.calendar || b.calendar, calendars: [...new Set([...a.calendars, ...b.calendars])] };
}

/**
 * What is pending and not yet covered by the cursor: a Gmail id the cursor passed is no work.
 * A walk (a rule change being applied, a resync) is Gmail work until it is done, from the time
 * it may start (gmail/read-lag.ts): a walk waiting out the lag is no work yet, so no run
 * takes it up early, and once due any trigger does. `walks: false` leaves walks out (a step
 * whose Gmail pass failed: the next trigger tries again, not this run).
 */
export function outstanding(source: SourceData, now: Date, walks = true): Pending {
  const { gmail } = source.pending;
  const gmailLeft = gmail !== null && isNewerHistoryId(gmail, source.historyId) ? gmail : null;
  const walking = walks && (source.gmailRuleApply !== null || source.gmailResync !== null) && walkWaitsUntil(source, now) === null;
  const walk = walking && source.historyId !== null ? historyIdAfter(source.historyId) : null;
  return { gmail: gmailLeft ?? walk, calendar: source.pending.calendar, calendars: source.pending.calendars };
}

/**
 * The lease kept while a walk waits out the lag: nobody runs Gmail before it may start, and
 * once it may, the lease has expired with work left, so any trigger takes it and the fallback
 * poll's expired-lease query finds it even if the look meant to start it never comes.
 */
export const WALK_WAIT_OWNER = 'walk-waiting';

function walkWaitLease(source: SourceData, now: Date): Lease | null {
  const until = walkWaitsUntil(source, now);
  return until === null ? null : { owner: WALK_WAIT_OWNER, until };
}

/**
 * Whether a trigger's work must be written at all. A strongly consistent read that shows it
 * covered (by the cursor, or pending under a live lease whose holder claims it after this
 * read) needs no write: bursts then cost reads, not contention.
 */
export function needsRecording(source: SourceData, work: AnnouncedWork, now: Date, pushAt: Date | undefined): boolean {
  const live = leaseLive(source, now);
  // Pending work whose holder died, or a walk now due: this trigger takes it over.
  if (!live && hasPending(outstanding(source, now))) return true;
  if (pushAt !== undefined && needsPushStamp(source, pushAt)) return true;
  const gmailCovered =
    work.gmail === null || !isNewerHistoryId(work.gmail, source.historyId) || (live && !isNewerHistoryId(work.gmail, source.pending.gmail));
  const calendarCovered = !work.calendar || (live && source.pending.calendar);
  return !(gmailCovered && calendarCovered && newCalendars(source, work).length === 0);
}

/** The calendars a trigger names that are not pending already. */
function newCalendars(source: SourceData, work: AnnouncedWork): string[] {
  if (source.pending.calendar) return [];
  return (work.calendars ?? []).filter((calendarId) => !source.pending.calendars.includes(calendarId));
}

/** What a trigger announces that is neither covered by the cursor nor pending already. */
function newWork(source: SourceData, work: AnnouncedWork): Pending {
  const gmailIsNew = work.gmail !== null && isNewerHistoryId(work.gmail, source.historyId) && isNewerHistoryId(work.gmail, source.pending.gmail);
  return { gmail: gmailIsNew ? work.gmail : null, calendar: work.calendar && !source.pending.calendar, calendars: newCalendars(source, work) };
}

export type RecordResult = { kind: 'nothing-new' } | { kind: 'recorded' } | { kind: 'acquired'; claimed: Pending };

/**
 * Step 1 of a run: merge the announced work into `pending` and, if the lease is free or
 * expired, take it and claim everything outstanding at once (one write, not two).
 */
export function decideRecord(source: SourceData, work: AnnouncedWork, owner: string, now: Date, leaseMs: number, pushAt?: Date): Decision<RecordResult> {
  const stamp: SourcePatch = pushAt !== undefined && needsPushStamp(source, pushAt) ? { lastPushAt: pushAt } : {};
  const announced = newWork(source, work);
  const gmailIsNew = announced.gmail !== null;
  const calendarIsNew = announced.calendar || announced.calendars.length > 0;
  const pending = mergePending(source.pending, announced);
  const toClaim = outstanding({ ...source, pending }, now);
  const patchOrNull = (patch: SourcePatch) => (Object.keys(patch).length > 0 ? patch : null);

  if (!leaseLive(source, now) && hasPending(toClaim)) {
    return { patch: { ...stamp, pending: NO_PENDING, lease: leaseFor(owner, now, leaseMs) }, result: { kind: 'acquired', claimed: toClaim } };
  }
  if (!gmailIsNew && !calendarIsNew) return { patch: patchOrNull(stamp), result: { kind: 'nothing-new' } };
  return { patch: { ...stamp, pending }, result: { kind: 'recorded' } };
}

export type StepEnd = { kind: 'continue'; claimed: Pending } | { kind: 'released' } | { kind: 'lost' };

/** The cursors of a step's passes together: each calendar's token is its own pass's. */
export function mergeCursors(all: readonly StepCursors[]): StepCursors {
  return all.reduce<StepCursors>((merged, c) => ({ ...merged, ...c, calendarSyncTokens: { ...merged.calendarSyncTokens, ...c.calendarSyncTokens } }), {});
}

/** Cursors a step's passes reached on their last page, stored by the step's end (no write of their own). */
export interface StepCursors {
  historyId?: string;
  /**
   * Each listed calendar's new sync token (`to`), by calendar id, and the one its listing began
   * from (`from`, `null` for a full listing).
   */
  calendarSyncTokens?: Record<string, ListedToken>;
}

/**
 * The end of a run step, in one atomic write: store the cursors the passes reached, apply
 * what they changed (`change`, e.g. the status), then either claim what arrived meanwhile
 * and go on, or release. `giveUp` puts the claimed work back as pending (a failed run) and
 * leaves an expired lease instead of none: the retried trigger, any other trigger or the
 * fallback poll's expired-lease query takes it. A lease lost meanwhile is not touched beyond
 * that: its cursors and its passes' changes (the status) are not stored (one writer per
 * cursor, and what the successor found is newer), and the claimed work goes back as pending for
 * the successor, which owns it now; if the successor has already let go, the expired marker is
 * left for it the same way.
 */
export function decideStepEnd(
  source: Source,
  step: { owner: string; now: Date; leaseMs: number; claimed: Pending; giveUp: boolean; cursors?: StepCursors; change?: (source: Source) => Source; gmailFailed?: boolean },
): Decision<StepEnd> & { next: Source } {
  // Decided on the current version (the store's write is conditional on it): a lease of ours
  // that expired with nobody taking it over is still ours to end, with its cursors.
  const holding = source.lease !== null && source.lease.owner === step.owner;
  const advanced = holding ? withCursors(source, step.cursors ?? {}) : source;
  // What the passes found is the lease holder's to record: a successor's findings are newer.
  const changed = holding && step.change ? step.change(advanced) : advanced;
  const restore = step.giveUp || !holding ? step.claimed : NO_PENDING;
  const withWork: Source = { ...changed, pending: mergePending(changed.pending, restore) };
  let next: Source;
  let result: StepEnd;
  // Work left with nobody holding the source: an expired lease marks it for the poll.
  const waiting = (s: Source): Source => (hasPending(s.pending) && s.lease === null ? { ...s, lease: { owner: step.owner, until: step.now } } : s);
  const left = outstanding(withWork, step.now, step.gmailFailed !== true);
  if (!holding) {
    next = waiting(withWork);
    result = { kind: 'lost' };
  } else if (!step.giveUp && hasPending(left)) {
    next = { ...withWork, pending: NO_PENDING, lease: leaseFor(step.owner, step.now, step.leaseMs) };
    result = { kind: 'continue', claimed: left };
  } else {
    // A Gmail id the cursor has passed is no work: it is not left behind as pending; a walk
    // waiting out the lag keeps the lease until it may start.
    const released = { ...withWork, pending: outstanding(withWork, step.now, false), lease: walkWaitLease(withWork, step.now) };
    next = step.giveUp ? waiting(released) : released;
    result = { kind: 'released' };
  }
  return { patch: changedFields(source, next), result, next };
}

export interface ListedToken {
  from: string | null;
  to: string;
}

/**
 * The Gmail cursor only moves forward; each calendar's token is its listing's last page's, kept
 * only while the stored one is still the one the listing began from: a choice of calendars or
 * rules made during the pass cleared it so that the next pass lists everything again.
 */
export function withCursors(source: Source, cursors: StepCursors): Source {
  const { historyId, calendarSyncTokens = {} } = cursors;
  const advanced: Source = { ...source, ...(historyId !== undefined && isNewerHistoryId(historyId, source.historyId) && { historyId }) };
  return Object.entries(calendarSyncTokens).reduce<Source>((next, [calendarId, { from, to }]) => (calendarState(next, calendarId).syncToken === from ? { ...next, ...calendarStateChange(next, calendarId, { syncToken: to }) } : next), advanced);
}

/** Keeps the lease alive during a long pass. */
export function decideExtend(source: SourceData, id: string, owner: string, now: Date, leaseMs: number): Decision<void> {
  if (!holds(source, owner, now)) throw new LeaseLostError(id, owner);
  return { patch: { lease: leaseFor(owner, now, leaseMs) }, result: undefined };
}

/**
 * Moves the Gmail cursor forward only, and only for the lease holder; the same write keeps the
 * lease alive, so a pass of many pages never outlives it between pages.
 */
export function decideAdvance(source: SourceData, id: string, owner: string, historyId: string, now: Date, leaseMs: number): Decision<boolean> {
  if (!holds(source, owner, now)) throw new LeaseLostError(id, owner);
  if (!isNewerHistoryId(historyId, source.historyId)) return { patch: null, result: false };
  return { patch: { historyId, lease: leaseFor(owner, now, leaseMs) }, result: true };
}

/** Stores (or clears) one calendar's sync token, only for the lease holder. */
export function decideSyncToken(source: SourceData, id: string, owner: string, calendar: { calendarId: string; token: string | null }, now: Date): Decision<void> {
  if (!holds(source, owner, now)) throw new LeaseLostError(id, owner);
  if (calendarState(source, calendar.calendarId).syncToken === calendar.token) return { patch: null, result: undefined };
  return { patch: calendarStateChange(source, calendar.calendarId, { syncToken: calendar.token }), result: undefined };
}

/** The top-level fields whose values differ: what a field-level update must write. */
export function changedFields(before: Source, after: Source): SourcePatch | null {
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(after)) {
    if (key === 'id' || key === 'updatedAt') continue;
    if (!sameValue((before as Record<string, unknown>)[key], value)) patch[key] = value;
  }
  return Object.keys(patch).length > 0 ? (patch) : null;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}
