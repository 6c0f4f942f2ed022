import type { PubSub, PublishOptions, Topic } from '@google-cloud/pubsub';

/**
 * A topic whose Pub/Sub client is loaded on first publish, so functions that never publish
 * never pay for it. In local runs the client finds the emulator through PUBSUB_EMULATOR_HOST.
 */
export function lazyTopic(projectId: string, topicName: string, options: PublishOptions): () => Promise<Topic> {
  let topic: Promise<Topic> | undefined;
  return () => {
    topic ??= import('@google-cloud/pubsub').then(({ PubSub: Client }) => {
      const client: PubSub = new Client({ projectId });
      return client.topic(topicName, options);
    });
    return topic;
  };
}
