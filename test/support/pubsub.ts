import { randomBytes } from 'node:crypto';

/** Topics and pull subscriptions on the Pub/Sub emulator, through its REST API. */

const host = () => {
  const value = process.env.PUBSUB_EMULATOR_HOST;
  if (!value) throw new Error('PUBSUB_EMULATOR_HOST is not set');
  return `http://${value}`;
};

async function put(path: string, body: unknown): Promise<void> {
  const response = await fetch(`${host()}/v1/${path}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok && response.status !== 409) throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`);
}

export async function createTopic(projectId: string, topic: string): Promise<string> {
  const name = `projects/${projectId}/topics/${topic}`;
  await put(name, {});
  return name;
}

export async function createPullSubscription(topicName: string): Promise<string> {
  const project = topicName.split('/')[1]!;
  const name = `projects/${project}/subscriptions/pull-${randomBytes(4).toString('hex')}`;
  await put(name, { topic: topicName, ackDeadlineSeconds: 10 });
  return name;
}

export async function createPushSubscription(topicName: string, pushEndpoint: string): Promise<string> {
  const project = topicName.split('/')[1]!;
  const name = `projects/${project}/subscriptions/push-${randomBytes(4).toString('hex')}`;
  await put(name, { topic: topicName, ackDeadlineSeconds: 10, pushConfig: { pushEndpoint } });
  return name;
}

export interface PulledMessage {
  data: unknown;
  messageId: string;
}

/** Pulls and acknowledges whatever is waiting. */
export async function pullAll(subscription: string): Promise<PulledMessage[]> {
  const response = await fetch(`${host()}/v1/${subscription}:pull`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ maxMessages: 1000, returnImmediately: true }),
  });
  if (!response.ok) throw new Error(`pull ${subscription}: ${response.status}`);
  const body = (await response.json()) as { receivedMessages?: { ackId: string; message: { data: string; messageId: string } }[] };
  const received = body.receivedMessages ?? [];
  if (received.length > 0) {
    await fetch(`${host()}/v1/${subscription}:acknowledge`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ackIds: received.map((r) => r.ackId) }),
    });
  }
  return received.map((r) => ({
    data: JSON.parse(Buffer.from(r.message.data, 'base64').toString('utf8')) as unknown,
    messageId: r.message.messageId,
  }));
}

export function uniqueProjectId(): string {
  return `demo-p${randomBytes(5).toString('hex')}`;
}

export async function deleteSubscription(name: string): Promise<void> {
  await fetch(`${host()}/v1/${name}`, { method: 'DELETE' });
}
