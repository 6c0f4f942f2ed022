import { randomUUID } from 'node:crypto';
import type { SourceStore } from '../../../functions/src/engine/source/ports';
import { isNewerHistoryId } from '../../../functions/src/engine/gmail/history-id';
import { withStatus } from '../../../functions/src/engine/source/status';
import { gmailPush, loggedPasses, resyncLagPassed, runnerWith, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { SpentAfterFirstPage } from '../../support/clock';
import { waitFor } from '../../support/wait';

let stack: EngineStack;
beforeAll(async () => {
  // No push subscription and no tail looks: these tests deliver notifications themselves, and
  // no run but theirs may take the source. A one-second pass budget makes every backlog here
  // span several passes.
  stack = await startEngineStack({ subscribeGmailPush: false, overrides: { followUps: null }, env: { GMAIL_PASS_BUDGET_SECONDS: '1', RATE_LIMIT_PER_SECOND: '100', RATE_LIMIT_BURST: '20', GMAIL_UNITS_PER_MINUTE: '100000' } });
});
afterAll(() => stack.close());

const tasksOf = async (userId: string) => (await stack.db.collection(`users/${userId}/tasks`).get()).docs.map((d) => d.data() as { externalId: string; status: string });
const gmailCalls = async (email: string) => (await stack.admin.stats()).calls[email] ?? {};

const push = (emailAddress: string, historyId: string) => gmailPush(stack, emailAddress, historyId, randomUUID());

async function connectWithCursor(sourceId: string, email: string, userId: string): Promise<void> {
  await stack.connect(sourceId, email, userId);
  const { historyId } = await stack.admin.account(email);
  // Live watches, so that the status speaks only of the sync.
  const far = new Date(Date.now() + 6 * 24 * 3_600_000);
  await stack.services.sources.update(sourceId, new Date(), () => ({ historyId, watchExpiration: far, calendarChannelExpiration: far }));
}

async function deliverMany(email: string, count: number, label: string) {
  const delivered = [];
  for (let i = 0; i < count; i += 1) delivered.push(await stack.admin.deliverMail(email, { subject: `${label} ${i}` }));
  return delivered;
}

/**
 * A source store whose instance dies when its first run step ends (after the first pass has
 * written its progress): the step's closing write fails and nothing is given back, as in a
 * crash. The first write (record, take the lease) and the resync walk's progress writes still
 * reach Firestore.
 */
function dyingAfterFirstPass(): SourceStore {
  const real = stack.services.sources;
  const dying = Object.assign(Object.create(real) as SourceStore, {
    extendLease: real.extendLease.bind(real),
    advanceHistoryId: real.advanceHistoryId.bind(real),
    setCalendarSyncToken: real.setCalendarSyncToken.bind(real),
  });
  let transitions = 0;
  dying.transition = (id, now, decide) => {
    transitions += 1;
    if (transitions === 1) return real.transition(id, now, decide);
    return real.transition(id, now, (source, derive) => {
      const decision = decide(source, derive);
      if (decision.patch !== null && 'gmailResync' in decision.patch) return decision;
      throw new Error('instance killed');
    });
  };
  return dying;
}

/** A push begins the resync (its walk waits out the read-after-push lag), and the lag passes. */
async function resyncBegun(sourceId: string, email: string, historyId: string): Promise<void> {
  expect(await push(email, historyId)).toBe(204);
  expect((await stack.services.sources.get(sourceId))!.gmailResync).toMatchObject({ pageToken: null, imported: 0 });
  await resyncLagPassed(stack, sourceId);
}

/** The crashed instance's lease runs out (its end moved to the past, not waited for); only then can another instance take the source. */
async function leaseExpired(sourceId: string): Promise<void> {
  await stack.services.sources.update(sourceId, new Date(), (source) => ({ lease: { owner: source.lease!.owner, until: new Date(Date.now() - 1) } }));
}

test('a long outage with expired history: all 230 messages become tasks, the resync resumes across invocations, and status is not active until it is done', async () => {
  const email = 'outage@example.com';
  const sourceId = 'src-outage';
  await connectWithCursor(sourceId, email, 'user-outage');
  const before = await stack.admin.deliverMail(email, { subject: 'before the outage' });
  expect(await push(email, before.historyId)).toBe(204);
  await stack.settled(sourceId);

  const outage = await deliverMany(email, 230, 'during the outage');
  await stack.admin.expireHistory(email);
  await resyncBegun(sourceId, email, outage[229]!.historyId);
  await stack.admin.resetStats();

  // The first invocation dies after its first (budget-bounded) pass.
  const dying = dyingAfterFirstPass();
  // The first pass's budget is spent after one page of the walk (the budget's own clock).
  const first = runnerWith(stack, dying, { leaseMs: 60_000, passBudgetMs: 300, fetchBatchSize: 10, budgetClock: new SpentAfterFirstPage(300) });
  await expect(first.handle(sourceId, { gmail: outage[229]!.historyId, calendar: false }, { trigger: 'push' })).rejects.toThrow('instance killed');

  const midway = (await stack.services.sources.get(sourceId))!;
  expect(midway.gmailResync).not.toBeNull();
  expect(midway.gmailResync!.pageToken).not.toBeNull();
  // The crash took the step's closing write (and its stored status) with it; the status as
  // sourceStatus re-derives it on read already says so.
  const seen = withStatus(midway, new Date(), stack.services.statusSettings);
  expect(seen.status).not.toBe('active');
  expect(seen.statusReason).toMatch(/Catching up/);
  // The dead instance's lease holds the work until it runs out; then a trigger or the fallback
  // poll's expired-lease query resumes it.
  expect(midway.lease).not.toBeNull();
  const partial = (await tasksOf('user-outage')).length;
  // The task before the outage, and the walk's first page of 100.
  expect(partial).toBe(101);

  // The next invocation walks on from the stored page, not from the top.
  await leaseExpired(sourceId);
  expect(await push(email, outage[229]!.historyId)).toBe(204);
  await stack.settled(sourceId);
  const ids = (await tasksOf('user-outage')).map((t) => t.externalId).sort();
  expect(ids).toEqual([before, ...outage].map((m) => m.id).sort());
  expect((await gmailCalls(email))['gmail.users.messages.get']).toBe(230);
  const done = (await stack.services.sources.get(sourceId))!;
  expect(done.gmailResync).toBeNull();
  expect(done.historyId).toBe((await stack.admin.account(email)).historyId);
  expect(done.status).not.toBe('disconnected');
  expect(done.statusReason ?? '').not.toMatch(/Catching up/);
});

test('history expiring again while a resync is still walking: the next pass walks again from a fresh cursor, nothing lost, no resync-loop error', async () => {
  const email = 'twice@example.com';
  const sourceId = 'src-twice';
  await connectWithCursor(sourceId, email, 'user-twice');
  const outage = await deliverMany(email, 150, 'first outage');
  await stack.admin.expireHistory(email);
  await resyncBegun(sourceId, email, outage[149]!.historyId);

  const dying = dyingAfterFirstPass();
  // The first pass's budget is spent after one page of the walk, so the walk is left midway.
  const first = runnerWith(stack, dying, { leaseMs: 60_000, passBudgetMs: 300, fetchBatchSize: 10, budgetClock: new SpentAfterFirstPage(300) });
  await expect(first.handle(sourceId, { gmail: outage[149]!.historyId, calendar: false }, { trigger: 'push' })).rejects.toThrow('instance killed');
  expect((await stack.services.sources.get(sourceId))!.gmailResync).not.toBeNull();

  // More mail, and history is lost again, before the walk resumes.
  const later = await deliverMany(email, 5, 'second outage');
  await stack.admin.expireHistory(email);
  await leaseExpired(sourceId);
  expect(await push(email, later[4]!.historyId)).toBe(204);
  await stack.settled(sourceId);
  // The walk outlived history: the next pass began a new one, which walks after the lag.
  expect((await stack.services.sources.get(sourceId))!.gmailResync).toMatchObject({ pageToken: null });
  await resyncLagPassed(stack, sourceId);
  expect(await push(email, later[4]!.historyId)).toBe(204);
  await stack.settled(sourceId);

  expect((await tasksOf('user-twice')).map((t) => t.externalId).sort()).toEqual([...outage, ...later].map((m) => m.id).sort());
  const events = await stack.services.events.listForSource(sourceId, new Date());
  expect(events.filter((e) => e.outcome === 'error')).toEqual([]);
  expect(events.some((e) => (e.counts.resyncOutlived ?? 0) > 0)).toBe(true);
  expect((await stack.services.sources.get(sourceId))!.historyId).toBe((await stack.admin.account(email)).historyId);
});

test('a backlog of 320 messages: tasks appear page by page with the cursor moving, a pass stops at its budget and the rest completes', async () => {
  const email = 'backlog@example.com';
  const sourceId = 'src-backlog';
  await connectWithCursor(sourceId, email, 'user-backlog');
  const start = (await stack.services.sources.get(sourceId))!.historyId!;
  const delivered = await deliverMany(email, 320, 'backlog');
  // Slow enough that the pages (a list, then their batches, whose parts run at once) outlast
  // the stack's 1 s pass budget.
  await stack.admin.setFaults({ latencyMs: 300 });
  // 320 messages.get are 6,400 units: above the new per-user default of 6,000 a minute, which
  // is the limiter's business (perf branch), not this test's.
  await stack.admin.setQuota({ gmailUnitsPerMinute: 100_000 });

  const run = push(email, delivered[319]!.historyId);
  // Part of the backlog is already tasks while the cursor has moved past it, before the end.
  await waitFor(async () => {
    const count = (await tasksOf('user-backlog')).length;
    const cursor = (await stack.services.sources.get(sourceId))!.historyId!;
    return count > 0 && count < 320 && isNewerHistoryId(cursor, start) && cursor !== delivered[319]!.historyId;
  }, 30_000, 20);
  expect(await run).toBe(204);
  await stack.admin.setFaults({});
  await stack.settled(sourceId);

  expect((await tasksOf('user-backlog')).map((t) => t.externalId).sort()).toEqual(delivered.map((d) => d.id).sort());
  expect((await stack.services.sources.get(sourceId))!.historyId).toBe(delivered[319]!.historyId);
  const passes = loggedPasses(stack, sourceId, 'gmail');
  expect(passes.filter((e) => (e.counts.budgetReached ?? 0) > 0).length).toBeGreaterThanOrEqual(1);
  expect(passes.reduce((sum, e) => sum + (e.counts.tasksWritten ?? 0), 0)).toBe(320);
});

test('history.list asks for INBOX changes only: sent mail and drafts cost no messages.get and become no task', async () => {
  const email = 'sent@example.com';
  const sourceId = 'src-sent';
  await connectWithCursor(sourceId, email, 'user-sent');
  await stack.admin.resetStats();
  await stack.admin.deliverMail(email, { subject: 'a reply I sent', labelIds: ['SENT'] });
  const draft = await stack.admin.deliverMail(email, { subject: 'a draft', labelIds: ['DRAFT'] });
  const inbound = await stack.admin.deliverMail(email, { subject: 'mail for me' });
  expect(await push(email, inbound.historyId)).toBe(204);
  await stack.settled(sourceId);

  expect((await tasksOf('user-sent')).map((t) => t.externalId)).toEqual([inbound.id]);
  expect((await gmailCalls(email))['gmail.users.messages.get']).toBe(1);
  expect(draft.id).not.toBe(inbound.id);
});
