import { changeEventSchema, TASK_CHANGED, type ChangeEvent, type TaskChangedEvent } from '../../../functions/src/contracts/change-events';
import { COLLECTIONS } from '../../../functions/src/store/firestore';
import { MovableClock } from '../../support/clock';
import { registerWatch, runJob, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { createPullSubscription, createTopic, deleteSubscription, pullAll } from '../../support/pubsub';
import { waitFor } from '../../support/wait';

/**
 * The change stream through the production adapters: task and status writes stage their
 * events in the same commit (the outbox), the writer publishes them to the Pub/Sub emulator,
 * and the sweep (`publishChanges`) publishes whatever a failed publish or a killed writer left.
 */

const clock = new MovableClock();
let killNextTaskPublish = false;
let stack: EngineStack;
let subscription: string;
const received: ChangeEvent[] = [];

beforeAll(async () => {
  stack = await startEngineStack({
    overrides: {
      clock,
      followUps: null,
      changeHooks: {
        afterCommit: (entries) => {
          if (!killNextTaskPublish || !entries.some((e) => e.type === TASK_CHANGED)) return;
          killNextTaskPublish = false;
          throw new Error('killed between the commit and the publish');
        },
      },
    },
  });
  subscription = await createPullSubscription(stack.taskChangesTopic);
});
afterAll(async () => {
  await deleteSubscription(subscription);
  await stack.close();
});

async function pullUntil(done: (events: ChangeEvent[]) => boolean): Promise<ChangeEvent[]> {
  return waitFor(async () => {
    const pulled = await pullAll(subscription);
    received.push(...pulled.map((m) => changeEventSchema.parse(m.data)));
    return done(received) ? received : null;
  });
}

const taskEvents = (events: ChangeEvent[], taskId: string) =>
  events.filter((e): e is TaskChangedEvent => e.type === TASK_CHANGED && e.data.taskId === taskId);
const outboxSize = async () => (await stack.db.collection(COLLECTIONS.changeOutbox).get()).size;

/** The consumer's view: per task, the event with the highest version. */
function latestByTask(events: ChangeEvent[]): Map<string, TaskChangedEvent['data']> {
  const view = new Map<string, TaskChangedEvent['data']>();
  for (const e of events) {
    if (e.type !== TASK_CHANGED) continue;
    const held = view.get(e.data.taskId);
    if (!held || held.version < e.data.version) view.set(e.data.taskId, e.data);
  }
  return view;
}

test('a mail, its archive and the source turning active each reach the topic as one event; the consumer view equals Firestore', async () => {
  await stack.connect('src-stream', 'stream@example.com', 'user-stream');
  expect((await registerWatch(stack, 'src-stream')).status).toBe(200);
  await new Promise((r) => setTimeout(r, 1100)); // Gmail notifies a mailbox at most once a second
  const sent = await stack.admin.deliverMail('stream@example.com', { subject: 'Stream me' });
  const taskId = `src-stream:gmail:${sent.id}`;
  await pullUntil((events) => taskEvents(events, taskId).length > 0);
  await new Promise((r) => setTimeout(r, 1100));
  await stack.admin.archiveMail('stream@example.com', sent.id);
  const events = await pullUntil((all) => taskEvents(all, taskId).some((e) => e.data.status === 'archived'));

  const [created, archived] = taskEvents(events, taskId);
  expect(created).toMatchObject({ id: `users/user-stream/tasks/${taskId}@1`, data: { userId: 'user-stream', sourceId: 'src-stream', origin: 'gmail', externalId: sent.id, title: 'Stream me', status: 'open', version: 1, change: 'created', dueAt: null } });
  expect(archived).toMatchObject({ data: { status: 'archived', version: 2, change: 'status' } });
  const statuses = events.filter((e) => e.type !== TASK_CHANGED && e.data.sourceId === 'src-stream').map((e) => e.data);
  expect(statuses[0]).toMatchObject({ email: 'stream@example.com', status: 'active', reason: null, version: 1, polling: false });

  await stack.settled('src-stream');
  const stored = (await stack.db.collection('users/user-stream/tasks').get()).docs.map((d) => ({ id: d.id, ...(d.data() as { status: string; title: string; version: number }) }));
  const view = latestByTask(events);
  expect(stored.map((t) => [t.id, t.status, t.title, t.version])).toEqual([...view.values()].map((t) => [t.taskId, t.status, t.title, t.version]));
  expect(await outboxSize()).toBe(0);
});

test('a publish Pub/Sub refuses leaves the event in the outbox; the sweep publishes it once the topic is back', async () => {
  await stack.connect('src-refused', 'refused@example.com', 'user-refused');
  expect((await registerWatch(stack, 'src-refused')).status).toBe(200);
  await stack.settled('src-refused');
  await deleteSubscription(subscription);
  await fetch(`http://${process.env.PUBSUB_EMULATOR_HOST}/v1/${stack.taskChangesTopic}`, { method: 'DELETE' });

  await new Promise((r) => setTimeout(r, 1100));
  const sent = await stack.admin.deliverMail('refused@example.com', { subject: 'Nowhere to publish' });
  const taskId = `src-refused:gmail:${sent.id}`;
  await waitFor(async () => (await stack.db.doc(`users/user-refused/tasks/${taskId}`).get()).exists);
  await waitFor(() => Promise.resolve(stack.logLines.some((l) => l.includes('change events not published'))));
  expect(await outboxSize()).toBeGreaterThan(0);

  await createTopic(stack.projectId, 'task-changes');
  subscription = await createPullSubscription(stack.taskChangesTopic);
  // Younger entries are left to their writer: the sweep takes them once they are 30 s old.
  expect(await runJob(stack, 'publishChanges')).toMatchObject({ published: 0 });
  clock.advance(31_000);
  expect(await runJob(stack, 'publishChanges')).toMatchObject({ failed: 0 });
  const events = await pullUntil((all) => taskEvents(all, taskId).length > 0);
  expect(taskEvents(events, taskId)[0]!.data).toMatchObject({ version: 1, change: 'created', title: 'Nowhere to publish' });
  expect(await outboxSize()).toBe(0);
});

test('a writer killed between its commit and its publish loses no event: the sweep publishes it', async () => {
  await stack.connect('src-killed', 'killed@example.com', 'user-killed');
  expect((await registerWatch(stack, 'src-killed')).status).toBe(200);
  await stack.settled('src-killed');
  killNextTaskPublish = true;
  await new Promise((r) => setTimeout(r, 1100));
  const sent = await stack.admin.deliverMail('killed@example.com', { subject: 'Killed before publishing' });
  const taskId = `src-killed:gmail:${sent.id}`;
  await waitFor(async () => (await stack.db.doc(`users/user-killed/tasks/${taskId}`).get()).exists);
  await waitFor(() => Promise.resolve(!killNextTaskPublish));
  await stack.settled('src-killed');
  const staged = await stack.db.collection(COLLECTIONS.changeOutbox).where('type', '==', TASK_CHANGED).get();
  expect(staged.docs.map((d) => JSON.parse(d.get('payload') as string) as TaskChangedEvent).map((e) => e.data.taskId)).toEqual([taskId]);

  clock.advance(31_000);
  await runJob(stack, 'publishChanges');
  const events = await pullUntil((all) => taskEvents(all, taskId).length > 0);
  expect(taskEvents(events, taskId).map((e) => e.data.version)).toEqual([1]);
  expect(await outboxSize()).toBe(0);
});
