import type { OutboxEntry } from '../store/change-outbox';
import { lazyTopic } from './lazy-topic';

export interface PublishOutcome {
  /** Ids of the entries Pub/Sub accepted. */
  published: string[];
  /** The error class of each refused entry. */
  failed: string[];
}

/**
 * Publishes outbox entries to the change topic, ordered by their key (the user). A refused
 * message pauses its key in the client; the key is resumed at once, because the entry stays
 * in the outbox and its next attempt must not be refused for the earlier failure.
 */
export class PubSubChangePublisher {
  private readonly getTopic: ReturnType<typeof lazyTopic>;

  constructor(projectId: string, topicName: string) {
    this.getTopic = lazyTopic(projectId, topicName, { messageOrdering: true, batching: { maxMessages: 100, maxMilliseconds: 5 } });
  }

  async publish(entries: readonly OutboxEntry[]): Promise<PublishOutcome> {
    const topic = await this.getTopic();
    const settled = await Promise.allSettled(
      entries.map((e) =>
        topic.publishMessage({ data: Buffer.from(e.payload), orderingKey: e.orderingKey, attributes: { type: e.type, userId: e.orderingKey } }),
      ),
    );
    const outcome: PublishOutcome = { published: [], failed: [] };
    settled.forEach((result, index) => {
      const entry = entries[index]!;
      if (result.status === 'fulfilled') {
        outcome.published.push(entry.id);
        return;
      }
      topic.resumePublishing(entry.orderingKey);
      outcome.failed.push(result.reason instanceof Error ? result.reason.name : typeof result.reason);
    });
    return outcome;
  }
}
