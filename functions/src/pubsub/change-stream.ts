import type { Clock, Logger } from '../engine/ports';
import { LOG_EVENTS } from '../observability/log-events';
import type { ChangeOutbox, OutboxEntry } from '../store/change-outbox';
import type { PubSubChangePublisher } from './change-publisher';

/** Test hooks: `afterCommit` throwing stands for a process killed between the write and the publish. */
export interface ChangeStreamHooks {
  afterCommit?: (entries: readonly OutboxEntry[]) => void;
}

export interface SweepOptions {
  /** Entries younger than this may still be on their way from their writer: left to it. */
  minAgeMs: number;
  batchSize: number;
  maxBatches: number;
}

export const SWEEP: SweepOptions = { minAgeMs: 30_000, batchSize: 500, maxBatches: 20 };

/**
 * Moves the outbox to Pub/Sub: right after each commit (`deliver`, the fast path) and from the
 * scheduled sweep (`sweep`, whatever the fast path missed). An entry is deleted only after
 * Pub/Sub accepted it, so a failure anywhere leaves it for the next sweep: an event may be
 * published twice (consumers drop it by version), never lost.
 */
export class ChangeStream {
  constructor(
    private readonly outbox: ChangeOutbox,
    private readonly publisher: PubSubChangePublisher,
    private readonly logger: Logger,
    private readonly hooks: ChangeStreamHooks = {},
  ) {}

  /** Publishes what one commit staged. Never fails the write that staged it. */
  deliver = async (entries: readonly OutboxEntry[]): Promise<void> => {
    this.hooks.afterCommit?.(entries);
    await this.publishAndRemove(entries);
  };

  async sweep(clock: Clock, options: SweepOptions = SWEEP): Promise<{ published: number; failed: number }> {
    const total = { published: 0, failed: 0 };
    for (let batch = 0; batch < options.maxBatches; batch += 1) {
      const cutoff = new Date(clock.now().getTime() - options.minAgeMs);
      const entries = await this.outbox.stagedBefore(cutoff, options.batchSize);
      const { published, failed } = await this.publishAndRemove(entries);
      total.published += published;
      total.failed += failed;
      if (entries.length < options.batchSize || failed > 0) break;
    }
    this.logger.info(LOG_EVENTS.changesSwept, total);
    return total;
  }

  private async publishAndRemove(entries: readonly OutboxEntry[]): Promise<{ published: number; failed: number }> {
    if (entries.length === 0) return { published: 0, failed: 0 };
    try {
      const { published, failed } = await this.publisher.publish(entries);
      if (published.length > 0) await this.outbox.remove(published);
      if (failed.length > 0) this.logger.warn(LOG_EVENTS.changesPublishFailed, { count: failed.length, errorClass: failed[0] });
      return { published: published.length, failed: failed.length };
    } catch (error) {
      // Published perhaps, not removed: the sweep publishes them again (a duplicate, not a loss).
      this.logger.warn(LOG_EVENTS.changesPublishFailed, { count: entries.length, errorClass: error instanceof Error ? error.name : typeof error });
      return { published: 0, failed: entries.length };
    }
  }
}
