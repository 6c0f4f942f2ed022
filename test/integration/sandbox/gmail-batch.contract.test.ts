import type { CreatedAccount } from '../../../sandbox/src/admin-client';
import { GmailAdapter } from '../../../functions/src/google/gmail';
import { limitedCaller } from '../../../functions/src/google/limited-call';
import { AccountLimiter } from '../../../functions/src/google/limiter';
import { parseBatchResponse } from '../../../functions/src/google/gmail-batch';
import { officialClients } from '../../support/google-clients';
import { useSandbox } from '../../support/sandbox-fixture';

/** Gmail's batch endpoint in the sandbox, and the adapter that uses it. */

const email = 'batch@example.com';
let account: CreatedAccount;
let clients: ReturnType<typeof officialClients>;
let adapter: GmailAdapter;
let limiter: AccountLimiter;

const running = useSandbox({ pubsubEmulatorHost: process.env.PUBSUB_EMULATOR_HOST });
beforeEach(async () => {
  await running.admin.reset();
  await running.admin.setQuota({ gmailUnitsPerMinute: 6000 });
  account = await running.admin.createAccount(email);
  clients = officialClients(running.sandbox.url, account);
  limiter = new AccountLimiter({ ratePerSecond: 100, burst: 10, maxInFlight: 5, maxAttempts: 3, backoffBaseMs: 20, backoffMaxMs: 100, gmailUnitsPerMinute: 6000 });
  const call = limitedCaller(limiter, { onUnauthorized: () => undefined, onRevoked: () => undefined });
  adapter = new GmailAdapter(clients.gmail, call, { auth: clients.auth, rootUrl: `${running.sandbox.url}/`, unitsPerGet: 20 });
});

const calls = async () => (await running.admin.stats()).calls[email] ?? {};

/** A raw batch of messages.get parts, as Google documents the format. */
async function rawBatch(ids: string[]): Promise<{ status: number; parts: Map<number, { status: number; data: unknown }> }> {
  const { token } = await clients.auth.getAccessToken();
  const body = ids.map((id, i) => `--b\r\nContent-Type: application/http\r\nContent-ID: <item-${i}>\r\n\r\nGET /gmail/v1/users/me/messages/${id}?format=metadata\r\n\r\n`).join('') + '--b--\r\n';
  const response = await fetch(`${running.sandbox.url}/batch/gmail/v1`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'multipart/mixed; boundary=b' }, body });
  return { status: response.status, parts: parseBatchResponse(await response.text(), response.headers.get('content-type') ?? '') };
}

describe('Gmail batch (/batch/gmail/v1)', () => {
  it('answers each part with its own status, in order; every part is a counted messages.get', async () => {
    const sent = [await running.admin.deliverMail(email, { subject: 'one' }), await running.admin.deliverMail(email, { subject: 'two' })];
    await running.admin.resetStats();
    const { status, parts } = await rawBatch([sent[0]!.id, 'no-such-message', sent[1]!.id]);
    expect(status).toBe(200);
    expect([0, 1, 2].map((i) => parts.get(i)?.status)).toEqual([200, 404, 200]);
    expect(parts.get(0)!.data).toMatchObject({ id: sent[0]!.id, labelIds: expect.arrayContaining(['INBOX']) as unknown });
    expect(parts.get(1)!.data).toMatchObject({ error: { code: 404 } });
    expect(await calls()).toEqual({ 'gmail.batch': 1, 'gmail.batch.parts': 3, 'gmail.users.messages.get': 3 });
  });

  it('runs its parts at once, as separate requests would run, not one after another', async () => {
    const sent = await Promise.all(Array.from({ length: 10 }, (_, n) => running.admin.deliverMail(email, { subject: `m${n}` })));
    // Each part waits on Google's latency: one after another, at most one would be answered at a time.
    await running.admin.setFaults({ latencyMs: 50 });
    await running.admin.resetStats();
    const { parts } = await rawBatch(sent.map((m) => m.id));
    await running.admin.setFaults({});
    expect([...parts.values()].map((p) => p.status)).toEqual(Array(10).fill(200));
    expect((await running.admin.stats()).batchPartsPeak).toBe(10);
  });

  it('charges every part against the per-user quota: parts beyond it answer 429 on their own', async () => {
    const sent = await Promise.all([1, 2, 3].map((n) => running.admin.deliverMail(email, { subject: `m${n}` })));
    await running.admin.setQuota({ gmailUnitsPerMinute: 45 });
    const { status, parts } = await rawBatch(sent.map((m) => m.id));
    expect(status).toBe(200);
    expect([0, 1, 2].map((i) => parts.get(i)?.status)).toEqual([200, 200, 429]);
    expect(parts.get(2)!.data).toMatchObject({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } });
  });

  it('refuses more than 100 parts, and a body that is not multipart', async () => {
    expect((await rawBatch(Array.from({ length: 101 }, (_, i) => `m${i}`))).status).toBe(400);
    const { token } = await clients.auth.getAccessToken();
    const plain = await fetch(`${running.sandbox.url}/batch/gmail/v1`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: '{}' });
    expect(plain.status).toBe(400);
  });
});

describe('GmailAdapter.getMessagesMetadata', () => {
  it('fetches 20 messages in one HTTP request, a gone message as null', async () => {
    const sent = [];
    for (let i = 0; i < 20; i += 1) sent.push(await running.admin.deliverMail(email, { subject: `burst ${i}` }));
    await running.admin.resetStats();
    const result = await adapter.getMessagesMetadata([...sent.map((m) => m.id), 'gone']);
    expect(result.size).toBe(21);
    expect(result.get('gone')).toBeNull();
    expect(result.get(sent[7]!.id)).toMatchObject({ id: sent[7]!.id, subject: 'burst 7', labelIds: expect.arrayContaining(['INBOX']) as unknown });
    expect(await calls()).toMatchObject({ 'gmail.batch': 1, 'gmail.users.messages.get': 21 });
    expect(limiter.stats).toMatchObject({ calls: 1, units: 21 * 20 });
  });

  it('splits 60 ids into batches of at most 50', async () => {
    await running.admin.resetStats();
    await adapter.getMessagesMetadata(Array.from({ length: 60 }, (_, i) => `absent-${i}`));
    expect(await calls()).toMatchObject({ 'gmail.batch': 2, 'gmail.batch.parts': 60 });
  });

  it('asks again for parts that failed transiently, and only for those', async () => {
    const sent = await Promise.all([1, 2, 3].map((n) => running.admin.deliverMail(email, { subject: `r${n}` })));
    await running.admin.resetStats();
    // The first part answers 503 once: only it is asked again.
    await running.admin.setFaults({ failNext: [{ method: 'gmail.users.messages.get', status: 503, count: 1 }] });
    const first = sent.map((m) => m.id);
    const result = await adapter.getMessagesMetadata(first);
    expect([...result.values()].every((m) => m !== null)).toBe(true);
    expect(await calls()).toMatchObject({ 'gmail.batch': 2, 'gmail.batch.parts': 4 });
    await running.admin.setFaults({});
  });
});
