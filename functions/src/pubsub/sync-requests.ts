import { messageOf, type SyncRequest, type SyncRequestPublisher } from '../engine/jobs/ports';
import { lazyTopic } from './lazy-topic';

/** Publishes sync requests to the `sync-requests` topic, each at once. */
export class PubSubSyncRequestPublisher implements SyncRequestPublisher {
  private readonly getTopic: ReturnType<typeof lazyTopic>;

  constructor(projectId: string, topicName: string) {
    this.getTopic = lazyTopic(projectId, topicName, { batching: { maxMessages: 1, maxMilliseconds: 0 } });
  }

  async publish(request: SyncRequest): Promise<void> {
    const topic = await this.getTopic();
    const message = messageOf(request);
    await topic.publishMessage({ json: message, attributes: { sourceId: message.sourceId, trigger: message.trigger } });
  }
}
