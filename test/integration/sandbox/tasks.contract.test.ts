import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verify } from 'node:crypto';
import { CloudTasksFollowUps } from '../../../functions/src/tasks/follow-up-queue';
import { SandboxAdmin } from '../../../sandbox/src/admin-client';
import { startSandbox, type RunningSandbox } from '../../../sandbox/src/server';
import { createFollowUpQueue } from '../../../scripts/lib/local-env';
import { waitFor } from '../../support/wait';

/** The sandbox's Cloud Tasks, driven through @google-cloud/tasks with its REST fallback. */

interface Received {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
}

let sandbox: RunningSandbox;
let receiver: Server;
let target: string;
const received: Received[] = [];
/** Status codes the receiver answers with, in order; 204 once they run out. */
let answers: number[] = [];
const projectId = 'demo-tasks-contract';
const queue = `projects/${projectId}/locations/local/queues/gmail-follow-ups`;
const invoker = `tasks-invoker@${projectId}.iam.gserviceaccount.com`;
let followUps: CloudTasksFollowUps;

beforeAll(async () => {
  sandbox = await startSandbox({ pubsubEmulatorHost: process.env.PUBSUB_EMULATOR_HOST });
  sandbox.world.tasks.retry = { maxAttempts: 4, minBackoffMs: 100, maxBackoffMs: 1000, maxDoublings: 3 };
  await createFollowUpQueue(projectId, sandbox.url);
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ at: Date.now(), headers: req.headers, body });
      res.writeHead(answers.shift() ?? 204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/gmailFollowUp`;
  followUps = new CloudTasksFollowUps({ queue, url: target, invoker, apiUrl: sandbox.url });
});
afterAll(async () => {
  await followUps.close();
  await sandbox.close();
  receiver.close();
});
beforeEach(() => {
  received.length = 0;
  answers = [];
});

function claims(authorization: string | undefined): Record<string, unknown> {
  const [header, payload, signature] = (authorization ?? '').replace(/^Bearer /, '').split('.');
  const signed = verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), sandbox.world.tasks.publicKeyPem(), Buffer.from(signature ?? '', 'base64url'));
  expect(signed).toBe(true);
  return JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<string, unknown>;
}

describe('Cloud Tasks (v2 REST, as @google-cloud/tasks calls it)', () => {
  it('dispatches a task at its scheduleTime as a POST with an OIDC token of the invoker', async () => {
    const at = new Date(Date.now() + 600);
    const from = { historyId: '4242', credentialsAt: new Date('2026-11-25T09:00:00Z'), labelId: 'STARRED' };
    expect(await followUps.schedule('source-1', at, from)).toBe('scheduled');
    const [delivery] = await waitFor(() => Promise.resolve(received.length > 0 ? received : null));
    expect(delivery!.at).toBeGreaterThanOrEqual(at.getTime() - 5);
    expect(JSON.parse(delivery!.body)).toEqual({ sourceId: 'source-1', after: '4242', credentialsAt: '2026-11-25T09:00:00.000Z', labelId: 'STARRED' });
    expect(delivery!.headers['content-type']).toBe('application/json');
    expect(delivery!.headers['x-cloudtasks-queuename']).toBe('gmail-follow-ups');
    expect(delivery!.headers['x-cloudtasks-taskretrycount']).toBe('0');
    expect(claims(delivery!.headers.authorization)).toMatchObject({ iss: 'https://accounts.google.com', aud: target, email: invoker, email_verified: true });
  });

  it('answers ALREADY_EXISTS for a name in use, also after the task ran: duplicates collapse', async () => {
    const at = new Date(Date.now() + 300);
    // The engine puts due times on a grid: a name is a source and a due time.
    const results = await Promise.all([followUps.schedule('source-2', at, null), followUps.schedule('source-2', new Date(at.getTime()), null), followUps.schedule('source-3', at, null)]);
    expect(results.sort()).toEqual(['duplicate', 'scheduled', 'scheduled']);
    await waitFor(() => Promise.resolve(received.length >= 2));
    expect(await followUps.schedule('source-2', at, null)).toBe('duplicate');
    await new Promise((r) => setTimeout(r, 300));
    expect(received).toHaveLength(2);
  });

  it('retries a failed dispatch with growing waits until a 2xx', async () => {
    answers = [500, 503];
    await followUps.schedule('source-4', new Date(), null);
    await waitFor(() => Promise.resolve(received.length === 3));
    expect(received.map((r) => r.headers['x-cloudtasks-taskretrycount'])).toEqual(['0', '1', '2']);
    const gaps = [received[1]!.at - received[0]!.at, received[2]!.at - received[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(90);
    expect(gaps[1]).toBeGreaterThanOrEqual(190);
    expect(sandbox.world.tasks.stats).toMatchObject({ retried: 2 });
  });

  it('reports a task as pending in /stats from its creation until a 2xx ends it, retries included', async () => {
    const admin = new SandboxAdmin(sandbox.url);
    const before = (await admin.stats()).pending.tasks;
    await followUps.schedule('source-5', new Date(Date.now() + 3_600_000), null);
    expect((await admin.stats()).pending.tasks).toBe(before + 1);
    answers = [500];
    await followUps.schedule('source-6', new Date(), null);
    await waitFor(() => Promise.resolve(received.length === 2));
    await waitFor(async () => (await admin.stats()).pending.tasks === before + 1);
    expect(sandbox.world.tasks.pending).toBe(before + 1);
  });

  it('refuses a task for a queue that does not exist, and one without credentials', async () => {
    const elsewhere = new CloudTasksFollowUps({ queue: `projects/${projectId}/locations/local/queues/missing`, url: target, invoker, apiUrl: sandbox.url });
    await expect(elsewhere.schedule('s', new Date(), null)).rejects.toMatchObject({ code: 5 });
    await elsewhere.close();
    const anonymous = await fetch(`${sandbox.url}/v2/${queue}/tasks`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"task":{}}' });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
  });
});
