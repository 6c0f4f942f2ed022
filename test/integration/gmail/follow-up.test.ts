import { countFirestoreOps } from '../../../scripts/bench/firestore-ops';
import { registerWatch, runnerWith, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { realEnvironment } from '../../../functions/src/google/limiter';
import { waitFor } from '../../support/wait';
import { deliverBurst } from '../../support/burst';
import { decideStepEnd } from '../../../functions/src/engine/source/lease';
import { NO_PENDING } from '../../../functions/src/engine/model';

/** The scheduled tail look: Cloud Tasks (the sandbox's) → gmailFollowUp → a Gmail pass. */

let stack: EngineStack;
/** Every wait an invocation asked for: the Google limiter (rate, quota, retry backoff) is the only way the engine waits. */
const sleeps: number[] = [];
beforeAll(async () => {
  const recordingSleeps = { ...realEnvironment, sleep: (ms: number) => (sleeps.push(ms), realEnvironment.sleep(ms)) };
  stack = await startEngineStack({ overrides: { limiterEnvironment: recordingSleeps } });
});
afterAll(() => stack.close());

const taskIds = async (userId: string) => (await stack.db.collection(`users/${userId}/tasks`).get()).docs.map((d) => d.id).sort();
/** A look as Cloud Tasks delivers it; `from` is where the pass that asked for it got to. */
const followUp = (sourceId: string, from?: { after: string; credentialsAt: Date }) =>
  fetch(stack.functionUrl('gmailFollowUp'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(from ? { sourceId, after: from.after, credentialsAt: from.credentialsAt.toISOString() } : { sourceId }),
  });

test('a burst whose tail Gmail never announces is complete after one scheduled look, and no invocation waited for it', async () => {
  await stack.connect('src-tail', 'tail@example.com', 'user-tail');
  expect((await registerWatch(stack, 'src-tail')).status).toBe(200);
  await new Promise((r) => setTimeout(r, 1100));
  const burst = await deliverBurst(stack.admin, 'tail@example.com', 6);
  await waitFor(async () => (await taskIds('user-tail')).length === 6, 15_000);
  await stack.settled('src-tail');
  const stats = await waitFor(async () => {
    const s = await stack.admin.stats();
    return (s.tasks.succeeded ?? 0) >= 1 ? s : null;
  });
  expect(stats.pushes.gmailDroppedRate).toBeGreaterThan(0);
  expect(await taskIds('user-tail')).toEqual(burst.map((m) => `src-tail:gmail:${m.id}`).sort());
  // Cloud Tasks delivered the look (above), and no invocation slept meanwhile.
  expect(sleeps).toEqual([]);
});

test('a look for a source disconnected in between, or gone, stops quietly without calling Google', async () => {
  await stack.connect('src-gone', 'gone@example.com', 'user-gone');
  await stack.services.sources.update('src-gone', new Date(), () => ({ disconnectReason: 'disconnected by the user', status: 'disconnected' }));
  await stack.admin.resetStats();
  expect((await followUp('src-gone')).status).toBe(204);
  expect((await followUp('never-existed')).status).toBe(204);
  expect((await stack.admin.stats()).calls['gone@example.com'] ?? {}).toEqual({});
});

test('a look that finds nothing costs one history.list and writes nothing', async () => {
  await stack.connect('src-quiet', 'quiet@example.com', 'user-quiet');
  const { historyId } = await stack.admin.account('quiet@example.com');
  await stack.services.sources.update('src-quiet', new Date(), () => ({ historyId }));
  const before = (await stack.db.doc('sources/src-quiet').get()).updateTime!;
  await stack.admin.resetStats();
  expect((await followUp('src-quiet')).status).toBe(204);
  expect((await stack.db.doc('sources/src-quiet').get()).updateTime!.isEqual(before)).toBe(true);
  expect((await stack.admin.stats()).calls['quiet@example.com']).toEqual({ 'gmail.users.history.list': 1 });

  // With something after the cursor, the look runs a normal pass, which starts with the page
  // the look read: one history.list in all.
  const mail = await stack.admin.deliverMail('quiet@example.com', { subject: 'after the look was scheduled' });
  await stack.admin.resetStats();
  expect((await followUp('src-quiet')).status).toBe(204);
  expect(await taskIds('user-quiet')).toEqual([`src-quiet:gmail:${mail.id}`]);
  expect((await stack.admin.stats()).calls['quiet@example.com']?.['gmail.users.history.list']).toBe(1);
});

test('a look from where its pass got to, on an instance holding the account, costs one history.list and no Firestore read', async () => {
  const email = 'warm@example.com';
  await stack.connect('src-warm', email, 'user-warm');
  const credentialsAt = new Date();
  const { historyId: start } = await stack.admin.account(email);
  await stack.services.sources.update('src-warm', new Date(), () => ({ historyId: start, credentialsAt }));
  // A pass (this instance's runner, without scheduling its own look) leaves the account's client warm.
  const first = await stack.admin.deliverMail(email, { subject: 'first' });
  const pass = runnerWith(stack, stack.services.sources, { leaseMs: 60_000, passBudgetMs: 60_000, fetchBatchSize: 5 });
  expect(await pass.handle('src-warm', { gmail: first.historyId, calendar: false }, { trigger: 'push' })).toBe('ran');
  const after = (await stack.services.sources.get('src-warm'))!.historyId!;

  const ops = countFirestoreOps(stack.services.db);
  const look = (from: { after: string; credentialsAt: Date }) => followUp('src-warm', from);
  await stack.admin.resetStats();
  expect((await look({ after, credentialsAt })).status).toBe(204);
  expect(ops).toEqual({ reads: 0, writes: 0 });
  expect((await stack.admin.stats()).calls[email]).toEqual({ 'gmail.users.history.list': 1 });

  // Credentials replaced since the pass (a reconnect): the look reads the source instead.
  expect((await look({ after, credentialsAt: new Date(credentialsAt.getTime() - 1) })).status).toBe(204);
  expect(ops.reads).toBeGreaterThan(0);

  // With a tail after that point (the cursor), the look runs a normal pass whose first page
  // is the one the look read: Gmail is not asked again from the cursor.
  const tail = await stack.admin.deliverMail(email, { subject: 'the tail' });
  await stack.admin.resetStats();
  expect((await look({ after, credentialsAt })).status).toBe(204);
  expect(await taskIds('user-warm')).toEqual([first, tail].map((m) => `src-warm:gmail:${m.id}`).sort());
  expect((await stack.admin.stats()).calls[email]?.['gmail.users.history.list']).toBe(1);
});

test('a look that finds Gmail quiet still takes work given back with nobody holding it', async () => {
  const email = 'orphan@example.com';
  await stack.connect('src-orphan', email, 'user-orphan');
  const { historyId } = await stack.admin.account(email);
  // A run gave its Calendar work back (its pass outlived the lease) and left an expired lease.
  const now = new Date();
  await stack.services.sources.update('src-orphan', now, () => ({ historyId, pending: { gmail: null, calendar: true, calendars: [] }, lease: { owner: 'gone', until: now } }));
  expect((await followUp('src-orphan')).status).toBe(204);
  const source = (await stack.services.sources.get('src-orphan'))!;
  expect(source.pending).toEqual({ gmail: null, calendar: false, calendars: [] });
  expect(source.lease).toBeNull();
  expect(source.calendarSyncToken).not.toBeNull();
});

test('a look racing a holder that listed before the tail arrived leaves the holder work, not "covered"', async () => {
  const email = 'race@example.com';
  await stack.connect('src-race', email, 'user-race');
  const { historyId: cursor } = await stack.admin.account(email);
  // A holder (another instance) has listed history up to `listed` and not stored it yet.
  const first = await stack.admin.deliverMail(email, { subject: 'listed by the holder' });
  const listed = first.historyId;
  const now = new Date();
  await stack.services.sources.update('src-race', now, () => ({ historyId: cursor, lease: { owner: 'holder', until: new Date(now.getTime() + 60_000) } }));
  // The tail arrives after the holder's listing; the look sees it and records it.
  const tail = await stack.admin.deliverMail(email, { subject: 'the tail' });
  expect((await followUp('src-race')).status).toBe(204);
  expect((await stack.services.sources.get('src-race'))!.pending.gmail).toBe(tail.historyId);
  // The holder ends its step with the cursor it listed: the tail is still work, so it goes on.
  const end = await stack.services.sources.transition('src-race', new Date(), (s) =>
    decideStepEnd(s, { owner: 'holder', now: new Date(), leaseMs: 60_000, claimed: NO_PENDING, giveUp: false, cursors: { historyId: listed } }),
  );
  expect(end).toEqual({ kind: 'continue', claimed: { gmail: tail.historyId, calendar: false, calendars: [] } });
});

test('refuses anything but POST {sourceId, after?, credentialsAt?}', async () => {
  expect((await fetch(stack.functionUrl('gmailFollowUp'))).status).toBe(405);
  const post = (body: string) => fetch(stack.functionUrl('gmailFollowUp'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  expect((await post('{"sourceId":"a/b"}')).status).toBe(400);
  expect((await post('{"sourceId":"s","after":"12x","credentialsAt":"2026-11-25T09:00:00Z"}')).status).toBe(400);
  expect((await post('{"sourceId":"s","after":"12"}')).status).toBe(400);
  expect((await post('{"sourceId":"s","after":"12","credentialsAt":"yesterday"}')).status).toBe(400);
});
