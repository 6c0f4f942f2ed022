import { deleteApp, initializeApp } from 'firebase/app';
import { connectFirestoreEmulator, getFirestore, terminate } from 'firebase/firestore';
import { ConnectClient, ConnectError, connectOutcome } from '../../../client/src/connect';
import { parseChangeEvent, SOURCE_STATUS_CHANGED } from '../../../client/src/events';
import { liveSourceStatus, liveTasks, type LiveSourceStatus, type LiveTask } from '../../../client/src/live';
import { disconnectedByUser } from '../../../functions/src/engine/source/decisions';
import { gmailTask } from '../../support/builders';
import { idTokenFor, walkConnect } from '../../support/connect';
import { startEngineStack, type EngineStack } from '../../support/engine-stack';
import { createPullSubscription, deleteSubscription } from '../../support/pubsub';
import { waitFor } from '../../support/wait';

/** The client package against the real connect function, the change stream and the Firestore emulator. */

let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack();
});
afterAll(() => stack.close());

test('the connect calls: start form, link, confirm, sources, disconnect, each a typed result; a used link is a ConnectError; the disconnection is on the stream', async () => {
  const userId = 'client-user';
  const email = 'client@example.com';
  await stack.admin.createAccount(email);
  const subscription = await createPullSubscription(stack.taskChangesTopic);
  const client = new ConnectClient({ connectUrl: stack.functionUrl('connect'), idToken: () => idTokenFor(stack, userId) });
  const form = await client.startForm(email);
  expect(form).toMatchObject({ action: `${stack.functionUrl('connect')}/start`, fields: { loginHint: email } });

  const walk = await walkConnect(stack, userId, email, { confirm: false });
  const outcome = connectOutcome(new URL(walk.location!).hash);
  if (outcome?.status !== 'confirm') throw new Error(`no link in ${walk.location}`);
  await expect(client.link(outcome.link)).resolves.toEqual({ email });
  const confirmed = await client.confirm(outcome.link);
  expect(confirmed).toMatchObject({ email });
  await expect(client.confirm(outcome.link)).rejects.toBeInstanceOf(ConnectError);
  expect((await client.sources()).map((s) => [s.sourceId, s.mine])).toEqual([[confirmed.sourceId, true]]);
  await expect(client.disconnect(confirmed.sourceId)).resolves.toMatchObject({ sourceId: confirmed.sourceId, status: 'disconnected' });

  const statuses = await waitFor(async () => {
    const pulled = (await fetch(`http://${process.env.PUBSUB_EMULATOR_HOST}/v1/${subscription}:pull`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ maxMessages: 100, returnImmediately: true }) }).then((r) => r.json())) as { receivedMessages?: { message: { data: string } }[] };
    const events = (pulled.receivedMessages ?? []).map((m) => parseChangeEvent(m.message.data)).filter((e) => e.type === SOURCE_STATUS_CHANGED);
    return events.some((e) => e.data.status === 'disconnected') ? events : null;
  });
  expect(statuses.at(-1)!.data).toMatchObject({ sourceId: confirmed.sourceId, status: 'disconnected', userId });
  await deleteSubscription(subscription);
});

test('live tasks and live source status follow Firestore as the signed-in user reads it', async () => {
  const userId = 'live-user';
  await stack.connect('src-live', 'live@example.com', userId);
  const app = initializeApp({ projectId: stack.projectId }, 'client-live');
  const db = getFirestore(app);
  const [host, port] = process.env.FIRESTORE_EMULATOR_HOST!.split(':');
  connectFirestoreEmulator(db, host!, Number(port), { mockUserToken: { user_id: userId } });
  let tasks: LiveTask[] = [];
  let sources: LiveSourceStatus[] = [];
  const stopTasks = liveTasks(db, userId, (t) => (tasks = t));
  const stopSources = liveSourceStatus(db, userId, (s) => (sources = s));
  try {
    await stack.services.tasks.upsert(userId, [gmailTask('src-live', 'm1', { title: 'Live one', dueAt: new Date('2026-12-09T10:00:00Z') })]);
    await waitFor(() => Promise.resolve(tasks.length === 1));
    expect(tasks[0]).toMatchObject({ taskId: 'src-live:gmail:m1', title: 'Live one', status: 'open', version: 1, dueAt: new Date('2026-12-09T10:00:00Z') });
    await waitFor(() => Promise.resolve(sources[0]?.status === 'active'));
    await stack.services.sources.transition('src-live', new Date(), disconnectedByUser('Disconnected by the user', new Date()));
    await waitFor(() => Promise.resolve(sources[0]?.status === 'disconnected'));
    expect(sources[0]).toMatchObject({ sourceId: 'src-live', email: 'live@example.com', reason: 'Disconnected by the user', polling: false });
  } finally {
    stopTasks();
    stopSources();
    await terminate(db);
    await deleteApp(app);
  }
});
