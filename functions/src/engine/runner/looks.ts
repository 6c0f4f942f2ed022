import type { GmailSyncResult } from '../gmail/sync';
import { LAG_FINAL_ATTEMPT, lagLookAt, type PassTarget } from '../gmail/read-lag';
import type { Source } from '../model';
import type { Clock, Logger } from '../ports';
import { followUpAt, lookFromPass, type CalendarLook, type FollowUpScheduler, type LookFrom } from './follow-up';
import type { RunTrigger } from './trigger';
import { LOG_EVENTS } from '../../observability/log-events';

/**
 * The looks a run asks for after its Gmail pass: the tail look (follow-up.ts), or, when what
 * the pass was announced lagged its push, the next bounded retry, or the look that walks a
 * resync once the lag has passed (gmail/read-lag.ts). A look
 * at lagging work that finds nothing yet asks for the next retry itself. All scheduled, never
 * slept; a failed schedule is not a failed sync (the fallback poll still finds the change).
 */

/**
 * Which attempt at lagging work a run makes: a retry look says; a poll waits for nothing (it
 * runs minutes apart, and a listing it made itself showed the work); anything else is a first
 * attempt.
 */
export function lagAttempt(trigger: RunTrigger): number {
  if (trigger.kind === 'check') return LAG_FINAL_ATTEMPT;
  return trigger.kind === 'look' ? (trigger.from?.retry ?? 0) : 0;
}

/** What a run's Gmail pass is told to find. */
export function passTarget(trigger: RunTrigger, announced: string | null): PassTarget {
  return { announced, final: lagAttempt(trigger) >= LAG_FINAL_ATTEMPT };
}

export class Looks {
  constructor(private readonly deps: { followUps: FollowUpScheduler | null; logger: Logger; clock: Clock }) {}

  /** After a Gmail pass that started at `startedAt`: the look it asks for, and the count of what was given up. */
  async afterPass(source: Source, trigger: RunTrigger, startedAt: Date, result: GmailSyncResult): Promise<void> {
    const attempt = lagAttempt(trigger);
    const look = lookAfterPass(source, attempt, startedAt, result);
    if (look?.from?.retry !== undefined) await this.scheduleRetry(source.id, look.at, look.from);
    else if (look !== null) await this.schedule(source.id, look.at, look.from);
    const givenUp = result.counts.unreadableTreatedAsDeleted ?? 0;
    if (givenUp > 0) this.deps.logger.warn(LOG_EVENTS.gmailUnreadableTreatedAsDeleted, { sourceId: source.id, count: givenUp, attempts: attempt });
  }

  /** A retry look that found nothing readable yet: the next one, while retries remain. */
  async nothingYet(sourceId: string, trigger: RunTrigger): Promise<void> {
    if (trigger.kind !== 'look' || trigger.from?.retry === undefined) return;
    const at = lagLookAt(this.deps.clock.now(), trigger.from.retry);
    if (at !== null) await this.scheduleRetry(sourceId, at, { ...trigger.from, retry: trigger.from.retry + 1 });
  }

  /**
   * A walk's look that came before the walk may start by the engine's clock (the queue runs on
   * Google's, which may be ahead): it asks for the same look again and does nothing else.
   */
  async cameEarly(sourceId: string, trigger: RunTrigger): Promise<boolean> {
    const from = trigger.kind === 'look' ? trigger.from : null;
    if (from?.walkAt === undefined || from.walkAt <= this.deps.clock.now()) return false;
    this.deps.logger.debug(LOG_EVENTS.gmailWalkLookEarly, { sourceId, at: from.walkAt.toISOString() });
    await this.schedule(sourceId, from.walkAt, from);
    return true;
  }

  private async scheduleRetry(sourceId: string, at: Date, from: LookFrom): Promise<void> {
    this.deps.logger.debug(LOG_EVENTS.gmailLagLookScheduled, { sourceId, retry: from.retry, at: at.toISOString() });
    await this.schedule(sourceId, at, from);
  }

  /** A look at calendars whose listing lagged their push (runner/calendar-lag.ts). */
  async scheduleCalendar(sourceId: string, at: Date, look: CalendarLook): Promise<void> {
    this.deps.logger.debug(LOG_EVENTS.calendarLagLookScheduled, { sourceId, retry: look.retry, at: at.toISOString() });
    await this.schedule(sourceId, at, null, look);
  }

  async schedule(sourceId: string, at: Date, from: LookFrom | null, calendar?: CalendarLook): Promise<void> {
    if (this.deps.followUps === null) return;
    try {
      const scheduled = await this.deps.followUps.schedule(sourceId, at, from, calendar);
      this.deps.logger.debug(LOG_EVENTS.followUpScheduled, { sourceId, scheduled, at: at.toISOString() });
    } catch (error) {
      this.deps.logger.warn(LOG_EVENTS.followUpNotScheduled, { sourceId, error: error instanceof Error ? error.message : String(error) });
    }
  }
}

/**
 * The look a Gmail pass asks for, if any. A walk waiting out the lag asks for the look that
 * starts it (the last attempt, from the cursor it began at), due when the walk may start. A
 * lagging pass's retry lists from the same cursor, so it is its tail look too (a plain tail
 * look would find the held change again and start another chain): due when both are. A retry
 * that found the lagging work asks for its tail look as the next retry too: the burst's tail,
 * which Gmail does not announce, may lag as its head did, and a plain tail look that finds
 * nothing yet would end the chain.
 * Otherwise the tail look. Without credentials to carry the retry count, lagging work is left
 * to the next push or poll.
 */
export function lookAfterPass(source: Source, attempt: number, startedAt: Date, result: GmailSyncResult): { at: Date; from: LookFrom | null } | null {
  const fromPoint = (historyId: string | null): LookFrom | null => lookFromPass(source, historyId);
  if (result.walkAt !== null) {
    const begun = fromPoint(source.historyId);
    return begun === null ? null : { at: result.walkAt, from: { ...begun, retry: LAG_FINAL_ATTEMPT, walkAt: result.walkAt } };
  }
  const from = fromPoint(result.cursor);
  const tailAt = followUpAt({ startedAt, historyRecords: result.counts.historyRecords ?? 0 });
  const lagAt = lagLookAt(startedAt, attempt);
  if (!result.lagging) return tailAt === null ? null : tailLook(tailAt, attempt > 0 ? lagAt : null, from, attempt);
  return lagAt === null || from === null ? null : { at: latest(lagAt, tailAt), from: { ...from, retry: attempt + 1 } };
}

/** The tail look; after a retry, on the retries' schedule while they last. */
function tailLook(tailAt: Date, lagAt: Date | null, from: LookFrom | null, attempt: number): { at: Date; from: LookFrom | null } {
  return lagAt === null || from === null ? { at: tailAt, from } : { at: latest(lagAt, tailAt), from: { ...from, retry: attempt + 1 } };
}

function latest(a: Date, b: Date | null): Date {
  return b !== null && b > a ? b : a;
}
