import type { PubSub, Topic } from '@google-cloud/pubsub';
import type { SyncRequest, SyncRequestPublisher } from '../engine/jobs/ports';

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
    await topic.publishMessage({ json: request, attributes: { sourceId: request.sourceId, trigger: request.trigger } });
  }
}
