import { signIdToken, GOOGLE_CERTS_PATH } from '../../../sandbox/src/identity-keys';
import { LOCAL_PUSHER, relayPushes, startEventReceiver, type EventReceiver } from '../../../scripts/lib/event-receiver';
import { registerWatch, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { waitFor } from '../../support/wait';

/** `npm start`'s receiver: every event verified and printed; a bad token answered 4xx, nothing applied. */

let stack: EngineStack;
let receiver: EventReceiver;
const printed: string[] = [];
beforeAll(async () => {
  stack = await startEngineStack();
  receiver = await startEventReceiver({ certsUrl: `${stack.sandbox.url}${GOOGLE_CERTS_PATH}`, print: (line) => printed.push(line) });
});
afterAll(async () => {
  await receiver.close();
  await stack.close();
});

const now = () => Math.floor(Date.now() / 1000);
const claims = () => ({ iss: 'https://accounts.google.com', aud: receiver.url, sub: 'pusher', email: LOCAL_PUSHER, email_verified: true, iat: now(), exp: now() + 3600 });
const body = JSON.stringify({ message: { data: Buffer.from('{"not":"an event"}').toString('base64') } });
const post = (authorization?: string) => fetch(receiver.url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(authorization && { Authorization: authorization }) }, body });

test('a mail becomes a task, and its event reaches the receiver through an OIDC-signed push', async () => {
  const relay = relayPushes({ pubsubHost: process.env.PUBSUB_EMULATOR_HOST!, projectId: stack.projectId, sandboxUrl: stack.sandbox.url, receiverUrl: receiver.url });
  try {
    await stack.connect('src-recv', 'recv@example.com', 'user-recv');
    expect((await registerWatch(stack, 'src-recv')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    const sent = await stack.admin.deliverMail('recv@example.com', { subject: 'Printed by the receiver' });
    const taskId = `src-recv:gmail:${sent.id}`;
    await waitFor(() => Promise.resolve(receiver.received.some((r) => r.event.subject === `users/user-recv/tasks/${taskId}`)));
    expect(printed.some((line) => line.includes(`users/user-recv/tasks/${taskId} v1 open`))).toBe(true);
    expect(receiver.refused).toEqual([]);
  } finally {
    await relay.stop();
  }
});

test('a missing, forged, expired or wrongly addressed token is refused with 401; a body that is no event with 400; nothing applied', async () => {
  const before = receiver.received.length;
  const sign = (overrides: Record<string, unknown>, foreignKey = false) => signIdToken(stack.sandbox.url, { claims: { ...claims(), ...overrides }, foreignKey });
  expect((await post()).status).toBe(401);
  expect((await post(`Bearer ${await sign({}, true)}`)).status).toBe(401);
  expect((await post(`Bearer ${await sign({ exp: now() - 3600, iat: now() - 7200 })}`)).status).toBe(401);
  expect((await post(`Bearer ${await sign({ aud: 'https://elsewhere.example.com' })}`)).status).toBe(401);
  expect((await post(`Bearer ${await sign({ email: 'intruder@example.com' })}`)).status).toBe(401);
  expect(receiver.refused.slice(-5)).toEqual(['no bearer token', 'bad signature', 'expired', 'wrong audience', 'wrong signer']);
  expect((await post(`Bearer ${await sign({})}`)).status).toBe(400);
  expect(receiver.received.length).toBe(before);
});
