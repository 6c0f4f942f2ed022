import type { GmailSyncResult, PassTarget } from '../gmail/sync';
import { LAG_FINAL_ATTEMPT, lagLookAt } from '../gmail/read-lag';
import type { Source } from '../model';
import type { Clock, Logger } from '../ports';
import { followUpAt, type FollowUpScheduler, type LookFrom } from './follow-up';
import type { RunTrigger } from './trigger';
import { LOG_EVENTS } from '../../observability/log-events';

/**
 * The looks a run asks for after its Gmail pass: the tail look (follow-up.ts) and, when what
 * the pass was announced lagged its push, the next bounded retry (gmail/read-lag.ts). A look
 * at lagging work that finds nothing yet asks for the next retry itself. All scheduled, never
 * slept; a failed schedule is not a failed sync (the fallback poll still finds the change).
 */

/**
 * Which attempt at lagging work a run makes: a retry look says; a poll takes Gmail's answer as
 * it is (it runs minutes apart, and a listing it made itself showed the work); anything else
 * is a first attempt.
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

  /** After a Gmail pass that started at `startedAt`: the tail look, the lag retry, and the count of what was given up. */
  async afterPass(source: Source, trigger: RunTrigger, startedAt: Date, result: GmailSyncResult): Promise<void> {
    const from = result.cursor !== null && source.credentialsAt !== null ? { historyId: result.cursor, credentialsAt: source.credentialsAt } : null;
    const tailAt = followUpAt({ startedAt, historyRecords: result.counts.historyRecords ?? 0 });
    const attempt = lagAttempt(trigger);
    // A lagging pass's retry lists from the same cursor, so it is its tail look too (a plain
    // tail look would find the held change again and start another chain): due when both are.
    // Without credentials to carry the retry count, lagging work is left to the next poll.
    const lagAt = lagLookAt(startedAt, attempt);
    if (result.lagging) {
      if (lagAt !== null && from !== null) await this.scheduleRetry(source.id, latest(lagAt, tailAt), { ...from, retry: attempt + 1 });
    } else if (tailAt !== null) await this.schedule(source.id, tailAt, from);
    const givenUp = result.counts.unreadableTreatedAsDeleted ?? 0;
    if (givenUp > 0) this.deps.logger.warn(LOG_EVENTS.gmailUnreadableTreatedAsDeleted, { sourceId: source.id, count: givenUp, attempts: attempt });
  }

  /** A retry look that found nothing readable yet: the next one, while retries remain. */
  async nothingYet(sourceId: string, trigger: RunTrigger): Promise<void> {
    if (trigger.kind !== 'look' || trigger.from?.retry === undefined) return;
    const at = lagLookAt(this.deps.clock.now(), trigger.from.retry);
    if (at !== null) await this.scheduleRetry(sourceId, at, { ...trigger.from, retry: trigger.from.retry + 1 });
  }

  private async scheduleRetry(sourceId: string, at: Date, from: LookFrom): Promise<void> {
    this.deps.logger.debug(LOG_EVENTS.gmailLagLookScheduled, { sourceId, retry: from.retry, at: at.toISOString() });
    await this.schedule(sourceId, at, from);
  }

  async schedule(sourceId: string, at: Date, from: LookFrom | null): Promise<void> {
    if (this.deps.followUps === null) return;
    try {
      const scheduled = await this.deps.followUps.schedule(sourceId, at, from);
      this.deps.logger.debug(LOG_EVENTS.followUpScheduled, { sourceId, scheduled, at: at.toISOString() });
    } catch (error) {
      this.deps.logger.warn(LOG_EVENTS.followUpNotScheduled, { sourceId, error: error instanceof Error ? error.message : String(error) });
    }
  }
}

function latest(a: Date, b: Date | null): Date {
  return b !== null && b > a ? b : a;
}
