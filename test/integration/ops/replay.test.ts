import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startEngineStack, type EngineStack } from '../../support/engine-stack';
import { createPullSubscription, createTopic } from '../../support/pubsub';
import { waitFor } from '../../support/wait';

/**
 * Dead letters end to end on the Pub/Sub emulator (which honours dead-letter policies): a sync
 * request that fails 5 times lands in the dead-letter topic; `npm run replay` lists it, sends
 * it back to its topic, and the task appears.
 */

const run = promisify(execFile);
let stack: EngineStack;
beforeAll(async () => {
  // One Google attempt per delivery, so each failed delivery is quick.
  stack = await startEngineStack({ subscribeGmailPush: false, env: { MAX_ATTEMPTS: '1' } });
});
afterAll(() => stack?.close());

const emulator = () => `http://${process.env.PUBSUB_EMULATOR_HOST}/v1`;

async function replay(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'scripts/replay.ts', ...args], { env: process.env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function put(path: string, body: unknown) {
  const response = await fetch(`${emulator()}/${path}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`PUT ${path}: ${response.status} ${await response.text()}`);
}

async function waitingIn(subscription: string): Promise<number> {
  // Pull without acknowledging, then release at once: a peek.
  const pulled = await fetch(`${emulator()}/${subscription}:pull`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ maxMessages: 10, returnImmediately: true }) });
  const messages = ((await pulled.json()) as { receivedMessages?: { ackId: string }[] }).receivedMessages ?? [];
  if (messages.length > 0) {
    await fetch(`${emulator()}/${subscription}:modifyAckDeadline`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ackIds: messages.map((m) => m.ackId), ackDeadlineSeconds: 0 }) });
  }
  return messages.length;
}

test('a sync request that failed 5 times is dead-lettered, listed by a dry run, replayed after the fix, and its task appears', async () => {
  const { projectId } = stack;
  const email = 'dead@example.com';
  await stack.connect('src-dead', email, 'user-dead');
  await stack.admin.createEvent(email, { summary: 'waiting for a replay', start: { dateTime: '2026-12-10T10:00:00Z' }, end: { dateTime: '2026-12-10T11:00:00Z' } });

  // The requests topic, pushed to syncWorker with a dead-letter policy, as deployed.
  const topic = await createTopic(projectId, 'requests-with-dead-letters');
  const deadTopic = await createTopic(projectId, 'requests-dead-letter');
  const deadSubscription = await createPullSubscription(deadTopic);
  const subscription = `projects/${projectId}/subscriptions/requests-to-sync-worker`;
  await put(subscription, {
    topic,
    ackDeadlineSeconds: 10,
    pushConfig: { pushEndpoint: `${stack.functionUrl('syncWorker')}/${topic}` },
    deadLetterPolicy: { deadLetterTopic: deadTopic, maxDeliveryAttempts: 5 },
    retryPolicy: { minimumBackoff: '0.1s', maximumBackoff: '1s' },
  });

  // Google fails every call: each delivery answers 500 until Pub/Sub gives up.
  await stack.admin.setFaults({ serverErrorRate: 1 });
  const request = { sourceId: 'src-dead', trigger: 'manual', calendar: true };
  await fetch(`${emulator()}/${topic}:publish`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages: [{ data: Buffer.from(JSON.stringify(request)).toString('base64') }] }),
  });
  await waitFor(async () => (await waitingIn(deadSubscription)) === 1, 60_000, 500);
  expect(stack.logLines.filter((l) => l.includes('"calendar sync failed"') && l.includes('src-dead')).length).toBeGreaterThanOrEqual(5);

  const listed = await replay('--project', projectId, '--subscription', deadSubscription.split('/').pop()!, '--dry-run');
  expect(listed.code).toBe(0);
  expect(listed.stdout).toMatch(/src-dead {2}trigger manual {2}5 attempts {2}first published \S+Z {2}dead-lettered \S+Z {2}from projects\/\S+\/subscriptions\/requests-to-sync-worker/);
  expect(listed.stdout).toContain('1 dead-lettered messages listed; nothing re-published (dry run).');
  expect(await waitingIn(deadSubscription)).toBe(1);

  // The fix: Google answers again. Replay sends the request back to its topic.
  await stack.admin.setFaults({});
  const replayed = await replay('--project', projectId, '--subscription', deadSubscription, '--limit', '10');
  expect(replayed.code).toBe(0);
  expect(replayed.stdout).toContain(`→ re-published to ${topic}`);
  expect(replayed.stdout).toContain('1 listed, 1 re-published and acknowledged, 0 left in the subscription.');
  const task = await waitFor(async () => {
    const snap = await stack.db.collection('users/user-dead/tasks').get();
    return snap.docs[0]?.data() as { title: string; status: string } | undefined;
  }, 20_000);
  expect(task).toMatchObject({ title: 'waiting for a replay', status: 'open' });
  expect(await waitingIn(deadSubscription)).toBe(0);
});

test.each([
  [['--subscription', 'dead'], /--project is required/],
  [['--project', 'Bad_Project', '--subscription', 'dead'], /--project must be a Google Cloud project id/],
  [['--project', 'demo-proj'], /--subscription is required/],
  [['--project', 'demo-proj', '--subscription', 'projects/other-proj/subscriptions/dead'], /belongs to project other-proj/],
  [['--project', 'demo-proj', '--subscription', 'dead', '--limit', '0'], /--limit must be a positive whole number/],
  [['--project', 'demo-proj', '--subscription', 'dead', '--bogus'], /Unknown option '--bogus'/],
])('bad input %j → exit 2 with the problem and the usage', async (args, problem) => {
  const result = await replay(...args);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(problem);
  expect(result.stderr).toContain('usage: npm run replay -- --project PROJECT --subscription SUBSCRIPTION');
});

test('a subscription that does not exist: a clear error, exit 1', async () => {
  const result = await replay('--project', stack.projectId, '--subscription', 'no-such-subscription');
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/replay failed: Pub\/Sub answered 404 for projects\/\S+\/subscriptions\/no-such-subscription:pull/);
});
