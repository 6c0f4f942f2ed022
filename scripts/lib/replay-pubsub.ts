/**
 * The few Pub/Sub REST calls the replay needs, against the emulator (PUBSUB_EMULATOR_HOST,
 * no credentials) or Google (Application Default Credentials, loaded only then).
 */

export interface ReceivedMessage {
  ackId: string;
  message: { data?: string; attributes?: Record<string, string>; messageId: string; publishTime?: string };
}

export interface PubSubRest {
  readonly endpoint: string;
  pull(subscription: string, maxMessages: number): Promise<ReceivedMessage[]>;
  acknowledge(subscription: string, ackIds: string[]): Promise<void>;
  /** Makes messages available again at once (a nack). */
  release(subscription: string, ackIds: string[]): Promise<void>;
  topicOf(subscription: string): Promise<string>;
  publish(topic: string, message: { data: string; attributes: Record<string, string> }): Promise<string>;
}

export class PubSubRequestError extends Error {
  constructor(
    readonly status: number,
    readonly path: string,
    detail: string,
  ) {
    super(`Pub/Sub answered ${status} for ${path}: ${detail}`);
    this.name = 'PubSubRequestError';
  }
}

type Headers = Record<string, string>;

export function pubsubRest(env: Record<string, string | undefined> = process.env): PubSubRest {
  const emulator = env.PUBSUB_EMULATOR_HOST;
  const endpoint = emulator ? `http://${emulator}/v1` : 'https://pubsub.googleapis.com/v1';
  let auth: Promise<() => Promise<Headers>> | undefined;
  const headers = async (): Promise<Headers> => {
    if (emulator) return {};
    auth ??= import('google-auth-library').then(({ GoogleAuth }) => {
      const client = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/pubsub'] });
      return async () => Object.fromEntries((await client.getRequestHeaders()).entries());
    });
    return (await auth)();
  };
  const call = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${endpoint}/${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', ...(await headers()) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) {
      const detail = (() => {
        try {
          return (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
        } catch {
          return text;
        }
      })();
      throw new PubSubRequestError(response.status, path, detail.slice(0, 300));
    }
    return (text ? JSON.parse(text) : {}) as T;
  };
  return {
    endpoint,
    async pull(subscription, maxMessages) {
      const body = await call<{ receivedMessages?: ReceivedMessage[] }>('POST', `${subscription}:pull`, { maxMessages, returnImmediately: true });
      return body.receivedMessages ?? [];
    },
    async acknowledge(subscription, ackIds) {
      if (ackIds.length > 0) await call('POST', `${subscription}:acknowledge`, { ackIds });
    },
    async release(subscription, ackIds) {
      if (ackIds.length > 0) await call('POST', `${subscription}:modifyAckDeadline`, { ackIds, ackDeadlineSeconds: 0 });
    },
    async topicOf(subscription) {
      return (await call<{ topic: string }>('GET', subscription)).topic;
    },
    async publish(topic, message) {
      const body = await call<{ messageIds: string[] }>('POST', `${topic}:publish`, { messages: [message] });
      return body.messageIds[0] ?? '';
    },
  };
}
