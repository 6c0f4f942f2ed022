import type { PubSub, Topic } from '@google-cloud/pubsub';
import { messageOf, type SyncRequest, type SyncRequestPublisher } from '../engine/jobs/ports';

/**
 * Publishes sync requests to the `sync-requests` topic. The Pub/Sub client is loaded on first
 * publish, so functions that never publish never pay for it. In local runs the client finds
 * the emulator through PUBSUB_EMULATOR_HOST.
 */
export class PubSubSyncRequestPublisher implements SyncRequestPublisher {
  private topic: Promise<Topic> | undefined;

  constructor(
    private readonly projectId: string,
    private readonly topicName: string,
  ) {}

  private getTopic(): Promise<Topic> {
    this.topic ??= import('@google-cloud/pubsub').then(({ PubSub: Client }) => {
      const client: PubSub = new Client({ projectId: this.projectId });
      return client.topic(this.topicName, { batching: { maxMessages: 1, maxMilliseconds: 0 } });
    });
    return this.topic;
  }

  async publish(request: SyncRequest): Promise<void> {
    const topic = await this.getTopic();
    const message = messageOf(request);
    await topic.publishMessage({ json: message, attributes: { sourceId: message.sourceId, trigger: message.trigger } });
  }
}
