import type { AnnouncedWork } from '../../../functions/src/engine/model';
import { gmailPush, resyncLagPassed, runnerWith, startEngineStack, storeWithTransitions as transitionsVia, type EngineStack } from '../../support/engine-stack';
import { waitFor } from '../../support/wait';
import { MovableClock } from '../../support/clock';
import type { SourceStore } from '../../../functions/src/engine/source/ports';

let stack: EngineStack;
beforeAll(async () => {
  // No push subscription: these tests deliver notifications themselves.
  stack = await startEngineStack({ subscribeGmailPush: false });
});
afterAll(() => stack.close());

const taskIds = async (userId: string) => (await stack.db.collection(`users/${userId}/tasks`).get()).docs.map((d) => d.id).sort();
const gmailCalls = async (email: string) => (await stack.admin.stats()).calls[email] ?? {};

/** Every look the sandbox's Cloud Tasks holds has been delivered (the passes schedule them before they release the lease). */
const tailLooksDelivered = () =>
  waitFor(async () => {
    const { created = 0, succeeded = 0, abandoned = 0 } = (await stack.admin.stats()).tasks;
    return created === succeeded + abandoned;
  });

const push = (emailAddress: string, historyId: string, n = 0) => gmailPush(stack, emailAddress, historyId, String(n));

async function connectWithCursor(sourceId: string, email: string, userId: string): Promise<void> {
  await stack.connect(sourceId, email, userId);
  const { historyId } = await stack.admin.account(email);
  await stack.services.sources.update(sourceId, new Date(), () => ({ historyId }));
}

test('30 duplicated, reordered, concurrent notifications for 10 new messages: 10 tasks, newest cursor, ≤ 3 history.list calls', async () => {
  const email = 'burst@example.com';
  await connectWithCursor('src-burst', email, 'user-burst');
  const delivered = [];
  for (let i = 0; i < 10; i += 1) delivered.push(await stack.admin.deliverMail(email, { subject: `burst ${i}` }));
  await stack.admin.resetStats();

  const historyIds = delivered.map((d) => d.historyId);
  const notifications = [...historyIds, ...historyIds, ...historyIds].sort(() => Math.random() - 0.5);
  const statuses = await Promise.all(notifications.map((id, n) => push(email, id, n)));
  expect(statuses.every((s) => s >= 200 && s < 300)).toBe(true);

  await stack.settled('src-burst');
  expect(await taskIds('user-burst')).toEqual(delivered.map((d) => `src-burst:gmail:${d.id}`).sort());
  expect((await stack.services.sources.get('src-burst'))!.historyId).toBe(historyIds[historyIds.length - 1]);
  const calls = await gmailCalls(email);
  expect(calls['gmail.users.history.list']).toBeLessThanOrEqual(3);
  expect(calls['gmail.users.messages.get']).toBe(10);

  // A notification the cursor already covers costs no Google call at all. (The passes' tail
  // looks, each one history.list, are delivered first: they are not this notification's cost.)
  await tailLooksDelivered();
  await stack.admin.resetStats();
  expect(await push(email, historyIds[3]!)).toBe(204);
  expect(await gmailCalls(email)).toEqual({});
});

test('history expiry → one full resync: every message present once, including one that arrived during it', async () => {
  const email = 'resync@example.com';
  await connectWithCursor('src-resync', email, 'user-resync');
  const before = await stack.admin.deliverMail(email, { subject: 'before' });
  await push(email, before.historyId);
  await stack.settled('src-resync');
  const archivedDuringGap = await stack.admin.deliverMail(email, { subject: 'archived in the gap' });
  await push(email, archivedDuringGap.historyId);
  await stack.settled('src-resync');

  await stack.admin.archiveMail(email, archivedDuringGap.id);
  const gap = [];
  for (let i = 0; i < 3; i += 1) gap.push(await stack.admin.deliverMail(email, { subject: `gap ${i}` }));
  await stack.admin.expireHistory(email);

  // The push begins the resync, which walks once the lag Gmail may show has passed.
  expect(await push(email, gap[2]!.historyId)).toBe(204);
  expect((await stack.services.sources.get('src-resync'))!.gmailResync).toMatchObject({ pageToken: null });
  await resyncLagPassed(stack, 'src-resync');
  // Slow Google down so that mail can arrive while the resync is listing the inbox.
  await stack.admin.setFaults({ latencyMs: 150 });
  const run = push(email, gap[2]!.historyId);
  await waitFor(async () => ((await gmailCalls(email))['gmail.users.messages.list'] ?? 0) > 0, 10_000, 10);
  const during = await stack.admin.deliverMail(email, { subject: 'during the resync' });
  expect(await run).toBe(204);
  await stack.admin.setFaults({});
  // The change during the resync is caught by the delta that follows it, or by the next push.
  await push(email, during.historyId);
  await stack.settled('src-resync');

  const ids = await taskIds('user-resync');
  const expected = [before, archivedDuringGap, ...gap, during].map((m) => `src-resync:gmail:${m.id}`).sort();
  expect(ids).toEqual(expected);
  const archived = await stack.services.tasks.get('user-resync', 'src-resync', 'gmail', archivedDuringGap.id);
  expect(archived!.status).toBe('archived');
  const events = await stack.services.events.listForSource('src-resync', new Date());
  expect(events.filter((e) => e.trigger === 'resync')).toHaveLength(1);
  expect((await stack.services.sources.get('src-resync'))!.status).not.toBe('disconnected');
});

test('injected 429s (with Retry-After) and 5xx: every message still arrives, after the advertised wait', async () => {
  const email = 'faults@example.com';
  await connectWithCursor('src-faults', email, 'user-faults');
  const delivered = [];
  for (let i = 0; i < 4; i += 1) delivered.push(await stack.admin.deliverMail(email, { subject: `f${i}` }));
  // Only this account's calls fail: an earlier test's tail look may call Gmail meanwhile.
  await stack.admin.setFaults({
    failNext: [
      { method: 'gmail.users.history.list', account: email, status: 429, count: 1, retryAfterSeconds: 1 },
      { method: 'gmail.users.messages.get', account: email, status: 503, count: 2 },
      { method: 'gmail.users.messages.get', account: email, status: 403, count: 1 },
    ],
  });
  const started = Date.now();
  expect(await push(email, delivered[3]!.historyId)).toBe(204);
  await stack.settled('src-faults');
  expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  expect(await taskIds('user-faults')).toEqual(delivered.map((d) => `src-faults:gmail:${d.id}`).sort());
  const limiter = stack.services.google.limiterFor('src-faults')!;
  // The 429 on history.list is retried by the limiter; failed batch parts are asked again in a later batch.
  expect(limiter.stats.retries).toBeGreaterThanOrEqual(1);
  expect((await gmailCalls(email))['gmail.batch']).toBeGreaterThanOrEqual(2);
  expect(limiter.stats.maxInFlightSeen).toBeLessThanOrEqual(stack.config.limiter.maxInFlight);
  expect((await stack.admin.stats()).injected).toMatchObject({ rateLimits: 2, serverErrors: 2 });
  await stack.admin.setFaults({});
});

test('a revoked token → disconnected with a reason, and no further Google calls for the source', async () => {
  const email = 'revoked@example.com';
  await connectWithCursor('src-revoked', email, 'user-revoked');
  await stack.admin.revoke(email);
  const mail = await stack.admin.deliverMail(email, { subject: 'after revoke' });
  expect(await push(email, mail.historyId)).toBe(204);
  const source = await waitFor(async () => {
    const s = await stack.services.sources.get('src-revoked');
    return s?.status === 'disconnected' ? s : null;
  });
  expect(source.statusReason).toMatch(/revoked/);

  await stack.admin.resetStats();
  const more = await stack.admin.deliverMail(email, { subject: 'ignored' });
  expect(await push(email, more.historyId)).toBe(204);
  expect(await gmailCalls(email)).toEqual({});
  expect(await taskIds('user-revoked')).toEqual([]);
});

const storeWithTransitions = (step: Parameters<typeof transitionsVia>[1]) => transitionsVia(stack, step);

test('a crash between writing tasks and advancing the cursor loses nothing and duplicates nothing', async () => {
  const email = 'crash@example.com';
  await connectWithCursor('src-crash', email, 'user-crash');
  const cursorBefore = (await stack.services.sources.get('src-crash'))!.historyId;
  const delivered = [];
  for (let i = 0; i < 3; i += 1) delivered.push(await stack.admin.deliverMail(email, { subject: `c${i}` }));

  // The same runner as production, but the instance dies at its step's closing transaction,
  // which is where a one-page pass's cursor moves (its first transition takes the lease).
  const dying = storeWithTransitions((n, run) => (n === 1 ? run() : Promise.reject(new Error('instance killed'))));
  const work: AnnouncedWork = { gmail: delivered[2]!.historyId, calendar: false };
  await expect(runnerWith(stack, dying, { leaseMs: 60_000, passBudgetMs: 60_000, fetchBatchSize: 5 }).handle('src-crash', work, { trigger: 'push' })).rejects.toThrow('instance killed');

  expect(await taskIds('user-crash')).toHaveLength(3);
  const afterCrash = (await stack.services.sources.get('src-crash'))!;
  expect(afterCrash.historyId).toBe(cursorBefore);
  // The dead instance still holds its lease: nobody else syncs the source until it expires.
  expect(afterCrash.lease).not.toBeNull();
  // Its lease runs out (its end moved to the past rather than waited for).
  await stack.services.sources.update('src-crash', new Date(), (source) => ({ lease: { owner: source.lease!.owner, until: new Date(Date.now() - 1) } }));

  // Redelivery runs the same work again with the real store.
  expect(await push(email, delivered[2]!.historyId)).toBe(204);
  await stack.settled('src-crash');
  expect(await taskIds('user-crash')).toEqual(delivered.map((d) => `src-crash:gmail:${d.id}`).sort());
  expect((await stack.services.sources.get('src-crash'))!.historyId).toBe(delivered[2]!.historyId);
});

test('a lease lost mid-run (another instance took over) is a hand-over, not a sync error', async () => {
  const email = 'lease-lost@example.com';
  await connectWithCursor('src-lease-lost', email, 'user-lease-lost');
  const cursorBefore = (await stack.services.sources.get('src-lease-lost'))!.historyId;
  const mail = await stack.admin.deliverMail(email, { subject: 'taken over' });

  // By the step's end, another instance holds the lease.
  const stolen = storeWithTransitions(async (n, run) => {
    if (n === 2) await stack.services.sources.update('src-lease-lost', new Date(), () => ({ lease: { owner: 'another-instance', until: new Date(Date.now() + 60_000) } }));
    return run();
  });
  await expect(runnerWith(stack, stolen, { leaseMs: 60_000, passBudgetMs: 60_000, fetchBatchSize: 5 }).handle('src-lease-lost', { gmail: mail.historyId, calendar: false }, { trigger: 'push' })).resolves.toBe('recorded');

  const source = (await stack.services.sources.get('src-lease-lost'))!;
  expect(source.consecutiveErrors).toBe(0);
  expect(source.lease!.owner).toBe('another-instance');
  // The cursor is the holder's to move: the work goes to the successor as pending instead.
  expect(source.historyId).toBe(cursorBefore);
  expect(source.pending.gmail).toBe(mail.historyId);
  const events = await stack.services.events.listForSource('src-lease-lost', new Date());
  expect(events.filter((e) => e.outcome === 'error')).toEqual([]);
  expect(stack.logLines.filter((l) => l.includes('src-lease-lost') && l.includes('"severity":"ERROR"'))).toEqual([]);
});

test('a pass that outlived its lease with nobody taking over gives its work back for the retried trigger', async () => {
  const email = 'outlived@example.com';
  await connectWithCursor('src-outlived', email, 'user-outlived');
  expect(await stack.services.runner.handle('src-outlived', { gmail: null, calendar: true }, { trigger: 'push' })).toBe('ran');
  expect((await stack.services.sources.get('src-outlived'))!.calendarSyncToken).not.toBeNull();

  // The token goes stale, and an event arrives that only a full sync will find.
  await stack.admin.invalidateSyncTokens(email);
  const start = Date.now() + 86_400_000;
  const event = await stack.admin.createEvent(email, { summary: 'after the 410', start: { dateTime: new Date(start).toISOString() }, end: { dateTime: new Date(start + 3_600_000).toISOString() } });

  // Google answers slower than the lease lasts (as when a pass stalls on a crashed instance's
  // lock): the lease's time runs out once it is taken, so the pass's first write, clearing the
  // stale token, finds it expired.
  const work = { gmail: null, calendar: true };
  const leaseMs = 60_000;
  const clock = new MovableClock();
  const leaseRunsOut = storeWithTransitions(async (n, run) => {
    const result = await run();
    if (n === 1) clock.advance(leaseMs + 1);
    return result;
  });
  const runner = runnerWith(stack, leaseRunsOut, { leaseMs, passBudgetMs: 60_000, fetchBatchSize: 5, clock });
  await expect(runner.handle('src-outlived', work, { trigger: 'push' })).rejects.toThrow('outlived its lease');
  const givenBack = (await stack.services.sources.get('src-outlived'))!;
  // Left under an expired lease: the fallback poll's expired-lease query finds it too.
  expect(givenBack.lease!.until.getTime()).toBeLessThanOrEqual(clock.now().getTime());
  expect(givenBack.pending.calendar).toBe(true);

  // The retried trigger syncs it.
  expect(await runner.handle('src-outlived', work, { trigger: 'push' })).toBe('ran');
  const tasks = (await stack.db.collection('users/user-outlived/tasks').get()).docs.map((d) => d.id);
  expect(tasks).toContain(`src-outlived:calendar:${event.id}`);
  expect((await stack.services.sources.get('src-outlived'))!.pending).toEqual({ gmail: null, calendar: false, calendars: [] });
});

test('a lone change: the first history page is asked for while the lease is being taken, and only once', async () => {
  const email = 'early@example.com';
  await connectWithCursor('src-early', email, 'user-early');
  const mail = await stack.admin.deliverMail(email, { subject: 'lone' });
  await stack.admin.resetStats();
  const listings = async () => (await gmailCalls(email))['gmail.users.history.list'] ?? 0;
  // The write that takes the lease waits until Gmail has been asked: it would wait in vain
  // if the pass only listed after it.
  const listedFirst = storeWithTransitions(async (n, run) => {
    if (n === 1) await waitFor(async () => (await listings()) >= 1, 3_000);
    return run();
  });
  const runner = runnerWith(stack, listedFirst, { leaseMs: 60_000, passBudgetMs: 60_000, fetchBatchSize: 5 });
  expect(await runner.handle('src-early', { gmail: mail.historyId, calendar: false }, { trigger: 'push' })).toBe('ran');
  expect(await taskIds('user-early')).toEqual([`src-early:gmail:${mail.id}`]);
  expect(await listings()).toBe(1);
  expect((await stack.services.sources.get('src-early'))!.historyId).toBe(mail.historyId);
});

test('an early page is dropped when another instance takes the lease first; nothing is lost', async () => {
  const email = 'early-lost@example.com';
  await connectWithCursor('src-early-lost', email, 'user-early-lost');
  const mail = await stack.admin.deliverMail(email, { subject: 'raced' });
  const beaten = storeWithTransitions(async (n, run) => {
    if (n === 1) await stack.services.sources.update('src-early-lost', new Date(), () => ({ lease: { owner: 'another-instance', until: new Date(Date.now() + 60_000) } }));
    return run();
  });
  const runner = runnerWith(stack, beaten, { leaseMs: 60_000, passBudgetMs: 60_000, fetchBatchSize: 5 });
  expect(await runner.handle('src-early-lost', { gmail: mail.historyId, calendar: false }, { trigger: 'push' })).toBe('recorded');
  // The work is the holder's now, recorded as pending; no task was written without the lease.
  expect((await stack.services.sources.get('src-early-lost'))!.pending.gmail).toBe(mail.historyId);
  expect(await taskIds('user-early-lost')).toEqual([]);
});

test('a pass of many pages, longer than the lease, keeps it: each page that moves the cursor extends it', async () => {
  const email = 'long-pass@example.com';
  await connectWithCursor('src-long-pass', email, 'user-long-pass');
  const delivered = [];
  for (let i = 0; i < 5; i += 1) delivered.push(await stack.admin.deliverMail(email, { subject: `page ${i}` }));
  // One record a page, each page (a list and a batch) taking more than half the lease on the
  // runner's clock: five pages outlast it.
  const leaseMs = 60_000;
  const clock = new MovableClock();
  const real = stack.services.sources;
  const slowPages = Object.create(real) as SourceStore;
  slowPages.advanceHistoryId = async (...args) => {
    const moved = await real.advanceHistoryId.apply(slowPages, args);
    clock.advance(leaseMs * 0.6);
    return moved;
  };
  const runner = runnerWith(stack, slowPages, { leaseMs, passBudgetMs: 60 * leaseMs, fetchBatchSize: 5, clock });
  expect(await runner.handle('src-long-pass', { gmail: delivered[4]!.historyId, calendar: false }, { trigger: 'push', pageSize: 1 })).toBe('ran');
  expect(clock.now().getTime() - Date.now()).toBeGreaterThan(leaseMs);
  expect(await taskIds('user-long-pass')).toEqual(delivered.map((d) => `src-long-pass:gmail:${d.id}`).sort());
});

test('an early page does not stand for newer work the run claims with it (recorded by others meanwhile)', async () => {
  const email = 'early-newer@example.com';
  await connectWithCursor('src-early-newer', email, 'user-early-newer');
  const first = await stack.admin.deliverMail(email, { subject: 'announced' });
  await stack.admin.resetStats();
  let second: { id: string; historyId: string } | undefined;
  // Once Gmail has answered the early listing, a newer change arrives and another trigger
  // records it while the lease is still free; this run's lease write then claims it too.
  const newerMeanwhile = storeWithTransitions(async (n, run) => {
    if (n === 1) {
      await waitFor(async () => ((await gmailCalls(email))['gmail.users.history.list'] ?? 0) >= 1, 3_000);
      second = await stack.admin.deliverMail(email, { subject: 'recorded by another trigger' });
      await stack.services.sources.update('src-early-newer', new Date(), () => ({ pending: { gmail: second!.historyId, calendar: false, calendars: [] } }));
    }
    return run();
  });
  const runner = runnerWith(stack, newerMeanwhile, { leaseMs: 60_000, passBudgetMs: 60_000, fetchBatchSize: 5 });
  expect(await runner.handle('src-early-newer', { gmail: first.historyId, calendar: false }, { trigger: 'push' })).toBe('ran');
  expect(await taskIds('user-early-newer')).toEqual([first, second!].map((m) => `src-early-newer:gmail:${m.id}`).sort());
  expect((await stack.services.sources.get('src-early-newer'))!.historyId).toBe(second!.historyId);
});
