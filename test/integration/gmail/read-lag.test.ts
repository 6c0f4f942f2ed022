import type { LookFrom, FollowUpScheduler } from '../../../functions/src/engine/runner/follow-up';
import { gmailRuleSchema } from '../../../functions/src/engine/gmail-rule-schema';
import { ruleReplaced } from '../../../functions/src/engine/source/rule-decisions';
import { followUpBody } from '../../../functions/src/tasks/follow-up-queue';
import { gmailPush, resyncLagPassed, startEngineStack, type EngineStack } from '../../support/engine-stack';

/**
 * Read-after-push lag (sandbox `PUT /_admin/lag`): the push reaches gmailPush before Gmail
 * serves the change. The looks the engine asks for are recorded instead of queued and
 * delivered to gmailFollowUp by the test once the sandbox clock has moved past the lag, so
 * nothing races real time: the lags are a minute long and the clock is advanced explicitly.
 */

const LAG_MS = 60_000;

/** Cloud Tasks, as the test drives it: every look is kept until the test delivers it. */
class HeldLooks implements FollowUpScheduler {
  readonly held: { sourceId: string; at: Date; from: LookFrom | null }[] = [];
  schedule(sourceId: string, at: Date, from: LookFrom | null): Promise<'scheduled'> {
    this.held.push({ sourceId, at, from });
    return Promise.resolve('scheduled');
  }
  /** Delivers the looks held so far (and those they ask for) to gmailFollowUp, in order. */
  async deliverAll(stack: EngineStack): Promise<number> {
    let delivered = 0;
    for (let look = this.held.shift(); look !== undefined; look = this.held.shift()) {
      await deliver(stack, look);
      delivered += 1;
    }
    return delivered;
  }
  /** Delivers the looks held now, keeping those they ask for. */
  async deliverHeld(stack: EngineStack): Promise<void> {
    for (const look of this.held.splice(0)) await deliver(stack, look);
  }
}

async function deliver(stack: EngineStack, look: { sourceId: string; from: LookFrom | null }): Promise<void> {
  const response = await fetch(stack.functionUrl('gmailFollowUp'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(followUpBody(look.sourceId, look.from)),
  });
  expect(response.status).toBe(204);
}

const looks = new HeldLooks();
let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack({ overrides: { followUps: looks } });
});
afterAll(() => stack.close());
afterEach(() => stack.admin.clearLag());

const taskIds = async (userId: string) => (await stack.db.collection(`users/${userId}/tasks`).get()).docs.map((d) => d.id).sort();

/** A connected source whose cursor is the mailbox's history id now. */
async function connected(sourceId: string, email: string, userId: string): Promise<void> {
  await stack.connect(sourceId, email, userId);
  const { historyId } = await stack.admin.account(email);
  await stack.services.sources.update(sourceId, new Date(), () => ({ historyId, credentialsAt: new Date() }));
}

test.each(['visible', 'ahead'] as const)('history empty after the push (history id %s): the mail becomes a task at a retry look after the lag', async (historyId) => {
  const email = `history-${historyId}@example.com`;
  await connected(`src-h-${historyId}`, email, `user-h-${historyId}`);
  const { historyId: start } = await stack.admin.account(email);
  await stack.admin.setLag({ account: email, api: 'gmail', fixedMs: LAG_MS, historyId });
  const mail = await stack.admin.deliverMail(email, { subject: 'to myself' });
  expect(await gmailPush(stack, email, mail.historyId, `m-h-${historyId}`)).toBe(204);
  expect(await taskIds(`user-h-${historyId}`)).toEqual([]);
  // The cursor did not pass the change it could not list; one look is due, the first retry.
  expect((await stack.services.sources.get(`src-h-${historyId}`))!.historyId).toBe(start);
  expect(looks.held.map((l) => l.from?.retry)).toEqual([1]);

  await stack.admin.advanceClock(LAG_MS);
  await looks.deliverAll(stack);
  expect(await taskIds(`user-h-${historyId}`)).toEqual([`src-h-${historyId}:gmail:${mail.id}`]);
  expect((await stack.services.sources.get(`src-h-${historyId}`))!.historyId).toBe(mail.historyId);
});

test("a burst's tail, never announced, readable after its head and after the tail look: a task at the next retry", async () => {
  const email = 'burst-tail@example.com';
  await connected('src-tail', email, 'user-tail');
  await stack.admin.setLag({ account: email, api: 'gmail', fixedMs: LAG_MS, historyId: 'ahead' });
  const head = await stack.admin.deliverMail(email, { subject: 'head' });
  await stack.admin.setLag({ account: email, api: 'gmail', fixedMs: 2 * LAG_MS, historyId: 'ahead' });
  // Within Gmail's notification interval: no push of its own.
  const tail = await stack.admin.deliverMail(email, { subject: 'tail' });
  looks.held.length = 0;
  expect(await gmailPush(stack, email, head.historyId, 'm-tail')).toBe(204);

  // The head is readable at the first retry; the tail look that retry asks for comes too early.
  await stack.admin.advanceClock(LAG_MS);
  await looks.deliverHeld(stack);
  expect(await taskIds('user-tail')).toEqual([`src-tail:gmail:${head.id}`]);
  await looks.deliverHeld(stack);
  expect(looks.held).toHaveLength(1);

  await stack.admin.advanceClock(LAG_MS);
  await looks.deliverAll(stack);
  expect(await taskIds('user-tail')).toEqual([head, tail].map((m) => `src-tail:gmail:${m.id}`).sort());
});

test('a message history lists but whose metadata answers 404: the others are written, it becomes a task at the retry', async () => {
  const email = 'not-found@example.com';
  await connected('src-404', email, 'user-404');
  const late = await stack.admin.deliverMail(email, { subject: 'answers 404 at first' });
  const other = await stack.admin.deliverMail(email, { subject: 'readable' });
  // Batches fetch in order: the first part (the first message) answers 404.
  await stack.admin.setFaults({ failNext: [{ method: 'gmail.users.messages.get', account: email, status: 404, count: 1 }] });
  expect(await gmailPush(stack, email, other.historyId, 'm-404')).toBe(204);
  expect(await taskIds('user-404')).toEqual([`src-404:gmail:${other.id}`]);
  expect(looks.held.filter((l) => l.from?.retry === 1)).toHaveLength(1);

  await stack.admin.setFaults({});
  await looks.deliverAll(stack);
  expect(await taskIds('user-404')).toEqual([late, other].map((m) => `src-404:gmail:${m.id}`).sort());
  expect((await stack.services.sources.get('src-404'))!.historyId).toBe(other.historyId);
});

test('a message that stays 404 through every retry is treated as deleted, once, and logged', async () => {
  const email = 'never@example.com';
  await connected('src-never', email, 'user-never');
  const mail = await stack.admin.deliverMail(email, { subject: 'never readable' });
  await stack.admin.setFaults({ failNext: [{ method: 'gmail.users.messages.get', account: email, status: 404, count: 100 }] });
  expect(await gmailPush(stack, email, mail.historyId, 'm-never')).toBe(204);
  expect(await looks.deliverAll(stack)).toBe(4); // three retries, and the last pass's tail look
  await stack.admin.setFaults({});
  expect(await taskIds('user-never')).toEqual([]);
  expect((await stack.services.sources.get('src-never'))!.historyId).toBe(mail.historyId);
  const logged = stack.logLines.map((l) => JSON.parse(l) as { message: string; count?: number; sourceId?: string });
  expect(logged.filter((l) => l.message === 'gmail messages still unreadable after the retries, treated as deleted' && l.sourceId === 'src-never').map((l) => l.count)).toEqual([1]);
});

test('nothing lagging: a push costs the Google calls it always did, and asks for no retry', async () => {
  const email = 'normal@example.com';
  await connected('src-normal', email, 'user-normal');
  const mail = await stack.admin.deliverMail(email, { subject: 'normal' });
  await stack.admin.resetStats();
  looks.held.length = 0;
  expect(await gmailPush(stack, email, mail.historyId, 'm-normal')).toBe(204);
  expect(await taskIds('user-normal')).toEqual([`src-normal:gmail:${mail.id}`]);
  const normal = { 'gmail.users.history.list': 1, 'gmail.batch': 1, 'gmail.batch.parts': 1, 'gmail.users.messages.get': 1 };
  expect((await stack.admin.stats()).calls[email]).toEqual(normal);
  expect(looks.held.filter((l) => l.from?.retry !== undefined)).toEqual([]);
  // The tail look (as before): one history.list that finds nothing.
  await looks.deliverAll(stack);
  expect((await stack.admin.stats()).calls[email]).toEqual({ ...normal, 'gmail.users.history.list': 2 });
});

test("a rule change's walk that Gmail does not serve a just-counted message yet (history id ahead): the cursor stays before it, the next poll lists it", async () => {
  const email = 'rule-lag@example.com';
  await connected('src-rule-lag', email, 'user-rule-lag');
  const { historyId: start } = await stack.admin.account(email);
  await stack.admin.setLag({ account: email, api: 'gmail', fixedMs: LAG_MS, historyId: 'ahead' });
  // Starred, not in the inbox: the inbox watch announces nothing; only the new rule's walk can find it.
  const starred = await stack.admin.deliverMail(email, { subject: 'starred just before the change', labelIds: ['STARRED'] });
  await stack.services.sources.transition('src-rule-lag', new Date(), ruleReplaced(gmailRuleSchema.parse({ selector: { kind: 'starred' } }), new Date()));
  await stack.services.runner.run('src-rule-lag', { kind: 'announced', work: { gmail: null, calendar: false }, trigger: 'manual' });
  const applied = (await stack.services.sources.get('src-rule-lag'))!;
  expect([applied.gmailRuleApply, await taskIds('user-rule-lag')]).toEqual([null, []]);
  expect(applied.historyId).toBe(start);

  await stack.admin.advanceClock(LAG_MS);
  await stack.services.runner.run('src-rule-lag', { kind: 'check', trigger: 'poll', calendar: false });
  expect(await taskIds('user-rule-lag')).toEqual([`src-rule-lag:gmail:${starred.id}`]);
  looks.held.length = 0;
});

test("a rule change whose cursor history no longer reaches: the walk imports what Gmail serves, then a resync that waits out the lag finds the rest", async () => {
  const email = 'rule-expired@example.com';
  await connected('src-rule-expired', email, 'user-rule-expired');
  const starred = await stack.admin.deliverMail(email, { subject: 'starred', labelIds: ['STARRED'] });
  await stack.admin.setLag({ account: email, api: 'gmail', fixedMs: LAG_MS, historyId: 'ahead' });
  const lagging = await stack.admin.deliverMail(email, { subject: 'starred, not served yet', labelIds: ['STARRED'] });
  await stack.admin.expireHistory(email);
  await stack.services.sources.transition('src-rule-expired', new Date(), ruleReplaced(gmailRuleSchema.parse({ selector: { kind: 'starred' } }), new Date()));
  await stack.services.runner.run('src-rule-expired', { kind: 'announced', work: { gmail: null, calendar: false }, trigger: 'manual' });
  const applied = (await stack.services.sources.get('src-rule-expired'))!;
  expect([applied.gmailRuleApply, applied.gmailResync === null]).toEqual([null, false]);
  expect(await taskIds('user-rule-expired')).toEqual([`src-rule-expired:gmail:${starred.id}`]);

  await stack.admin.advanceClock(LAG_MS);
  await resyncLagPassed(stack, 'src-rule-expired');
  await stack.services.runner.run('src-rule-expired', { kind: 'check', trigger: 'poll', calendar: false });
  expect((await taskIds('user-rule-expired')).sort()).toEqual([`src-rule-expired:gmail:${starred.id}`, `src-rule-expired:gmail:${lagging.id}`].sort());
  expect((await stack.services.sources.get('src-rule-expired'))!.gmailResync).toBeNull();
  looks.held.length = 0;
});
