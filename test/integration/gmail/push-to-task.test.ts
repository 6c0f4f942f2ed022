import { loggedPasses, registerWatch, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { waitFor } from '../../support/wait';
import { deliverBurst } from '../../support/burst';

let stack: EngineStack;

beforeAll(async () => {
  stack = await startEngineStack();
});
afterAll(() => stack.close());

type StoredTask = { id: string } & Record<string, unknown>;
const tasksOf = async (userId: string): Promise<StoredTask[]> =>
  (await stack.db.collection(`users/${userId}/tasks`).get()).docs.map((d): StoredTask => ({ ...d.data(), id: d.id }));

describe('Gmail push to task, end to end', () => {
  it('turns a new email into a task: sandbox → Pub/Sub emulator → gmailPush (Functions Framework) → Firestore', async () => {
    await stack.connect('src-e2e', 'ada@example.com', 'user-e2e');
    const response = await registerWatch(stack, 'src-e2e');
    expect(response.status).toBe(200);
    const source = (await stack.services.sources.get('src-e2e'))!;
    expect(source.watchExpiration!.getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    expect(source.historyId).not.toBeNull();
    expect(source.status).toBe('active');

    // Gmail notifies at most once a second per user; the watch just used this second.
    await new Promise((r) => setTimeout(r, 1100));
    const sent = await stack.admin.deliverMail('ada@example.com', { subject: 'Review the Q4 plan', from: 'Grace <grace@example.com>' });
    const [task] = await waitFor(async () => {
      const tasks = await tasksOf('user-e2e');
      return tasks.length === 1 ? tasks : null;
    });
    expect(task).toMatchObject({
      id: `src-e2e:gmail:${sent.id}`,
      origin: 'gmail',
      externalId: sent.id,
      title: 'Review the Q4 plan',
      status: 'open',
    });
    expect(String(task!.link)).toContain(sent.id);
    await waitFor(async () => (await stack.services.sources.get('src-e2e'))!.historyId === sent.historyId);

    // A routine push pass is accounted for in the log; Firestore keeps only the exceptions.
    const passes = await waitFor(() => {
      const logged = loggedPasses(stack, 'src-e2e', 'gmail').filter((p) => (p.counts.tasksWritten ?? 0) > 0);
      return Promise.resolve(logged.length > 0 ? logged : null);
    });
    expect(passes[0]).toMatchObject({ trigger: 'push', counts: { tasksWritten: 1, messagesFetched: 1 } });
    expect(await stack.services.events.listForSource('src-e2e', new Date())).toEqual([]);

    // Archive: the task becomes archived, never deleted.
    await new Promise((r) => setTimeout(r, 1100));
    await stack.admin.archiveMail('ada@example.com', sent.id);
    await waitFor(async () => (await tasksOf('user-e2e'))[0]?.status === 'archived');
    await stack.settled('src-e2e');
    expect(await tasksOf('user-e2e')).toHaveLength(1);
  });

  it('gets the whole burst although Gmail announces only its first message (one notification a second)', async () => {
    await stack.connect('src-tail', 'tail@example.com', 'user-tail');
    expect((await registerWatch(stack, 'src-tail')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    const burst = await deliverBurst(stack.admin, 'tail@example.com', 6);
    await waitFor(async () => (await tasksOf('user-tail')).length === 6, 15_000);
    await stack.settled('src-tail');
    const { pushes } = await stack.admin.stats();
    expect(pushes.gmailDroppedRate).toBeGreaterThan(0);
    expect((await tasksOf('user-tail')).map((t) => t.id).sort()).toEqual(burst.map((m) => `src-tail:gmail:${m.id}`).sort());
  });

  it('acknowledges a malformed payload without retrying and logs why', async () => {
    const before = stack.logLines.length;
    const response = await fetch(`${stack.functionUrl('gmailPush')}/projects/${stack.projectId}/topics/gmail-watch`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ message: { data: Buffer.from('{"emailAddress": 7}').toString('base64'), messageId: '1' }, subscription: 's' }),
    });
    expect(response.status).toBe(204);
    const logged = stack.logLines.slice(before).map((l) => JSON.parse(l) as { severity: string; message: string });
    expect(logged).toContainEqual(expect.objectContaining({ severity: 'WARNING', message: 'Ignoring a malformed Gmail notification' }));
  });

  it('answers 404 for an unknown source and 400 for a bad body at registerWatch', async () => {
    expect((await registerWatch(stack, 'nope')).status).toBe(404);
    const bad = await fetch(stack.functionUrl('registerWatch'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"source":1}' });
    expect(bad.status).toBe(400);
  });
});
