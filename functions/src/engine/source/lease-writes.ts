import type { SourceDecision } from './decisions';
import { decideAdvance, decideExtend, decideSyncToken } from './lease';

/**
 * The holder's cursor and lease writes, each one lease decision applied through `transition`:
 * every `SourceStore` gets them from here, so a store implements only how a decision is applied.
 */
export abstract class LeaseWritesThroughDecisions {
  abstract transition<T>(id: string, now: Date, decide: SourceDecision<T>): Promise<T>;

  extendLease(id: string, owner: string, now: Date, leaseMs: number): Promise<void> {
    return this.transition(id, now, (s) => decideExtend(s, id, owner, now, leaseMs));
  }

  advanceHistoryId(id: string, owner: string, historyId: string, now: Date, leaseMs: number): Promise<boolean> {
    return this.transition(id, now, (s) => decideAdvance(s, id, owner, historyId, now, leaseMs));
  }

  setCalendarSyncToken(id: string, owner: string, calendar: { calendarId: string; token: string | null }, now: Date): Promise<void> {
    return this.transition(id, now, (s) => decideSyncToken(s, id, owner, calendar, now));
  }
}
