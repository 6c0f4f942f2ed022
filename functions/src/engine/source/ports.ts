import type { Source, SourceData } from '../model';
import type { SourceDecision } from './decisions';

/** What the engine needs from the store of source documents. */

export interface SourceStore {
  get(id: string): Promise<Source | null>;
  create(id: string, data: SourceData): Promise<void>;
  findByEmail(email: string): Promise<Source[]>;
  /**
   * Applies a named engine decision (source/lease.ts, source/decisions.ts) atomically: a write
   * conditional on the version decided on, of only the fields it changed, with the status
   * re-derived when a field it is derived from changed (the decision is handed the store's
   * derivation, so what it returns shows that status); on conflict the decision is made again
   * on the new version.
   */
  transition<T>(id: string, now: Date, decide: SourceDecision<T>): Promise<T>;
  extendLease(id: string, owner: string, now: Date, leaseMs: number): Promise<void>;
  /** Records a change announced by a calendar's channel (a blind write, `calendarPushRecorded`). */
  markCalendarPending(id: string, calendarId: string, now: Date): Promise<{ needsRun: boolean }>;
  /** Moves the Gmail cursor forward (holder only) and extends the lease in the same write. */
  advanceHistoryId(id: string, owner: string, historyId: string, now: Date, leaseMs: number): Promise<boolean>;
  setCalendarSyncToken(id: string, owner: string, calendar: { calendarId: string; token: string | null }, now: Date): Promise<void>;
}

/** The indexed queries the scheduled jobs page through. Disconnected sources never match. */
export interface SourceQueries {
  /** Sources whose Gmail watch or Calendar channel expires before `cutoff`, or has none. */
  watchesExpiringBefore(cutoff: Date): AsyncIterable<Source>;
  /** Sources not checked (synced or polled) since `cutoff`. */
  notCheckedSince(cutoff: Date): AsyncIterable<Source>;
  /** Sources with a synced calendar that no pass has listed since `cutoff`. */
  calendarsNotCheckedSince(cutoff: Date): AsyncIterable<Source>;
  /** Sources whose lease expired before `now` (a crashed holder). */
  leaseExpiredBefore(now: Date): AsyncIterable<Source>;
}
