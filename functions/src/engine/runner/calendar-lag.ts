import { lagLookAt } from '../gmail/read-lag';
import type { IngestionTrigger, Pending } from '../model';
import type { RunTrigger } from './trigger';

/**
 * Calendar read-after-push lag: a channel message can arrive before `events.list` serves the
 * change it announces. The listing's sync token then stops before the change, so nothing is
 * skipped, but nothing would list that calendar again until its next push or poll. A listing a
 * push asked for that shows nothing is therefore looked at again, on Gmail's retry schedule
 * (1 s, 2 s, 4 s), as a scheduled look at that calendar (nothing sleeps); the chain ends at
 * the first look that lists something, or after the last retry. When nothing lags, a push's
 * listing shows its change and no look is asked for.
 */

/** Which retry at lagging calendars a run is (0: a push, or anything else that is not a Calendar look). */
export function calendarLagAttempt(trigger: RunTrigger): number {
  return trigger.kind === 'announced' ? (trigger.calendarRetry ?? 0) : 0;
}

/**
 * When to look at a calendar again after its pass, or `null`: only a pass that a push named
 * this calendar for (not a poll's or a reconnect's listing of every calendar), whose
 * incremental listing showed nothing, while retries remain.
 */
export function calendarLagLookAt(pass: { calendarId: string; claimed: Pending; trigger: IngestionTrigger; listedNothing: boolean; startedAt: Date }, attempt: number): Date | null {
  const named = !pass.claimed.calendar && pass.claimed.calendars.includes(pass.calendarId);
  if (!named || pass.trigger !== 'push' || !pass.listedNothing) return null;
  return lagLookAt(pass.startedAt, attempt);
}
