import { gmailRuleSchema } from '../../../functions/src/engine/gmail-rule-schema';
import { gmailPassCursor, lagLookAt, LAG_FINAL_ATTEMPT, LAG_SPAN_MS, pointBefore } from '../../../functions/src/engine/gmail/read-lag';
import type { LookFrom, FollowUpScheduler } from '../../../functions/src/engine/runner/follow-up';
import { followUpTaskId } from '../../../functions/src/tasks/follow-up-queue';
import { ruleReplaced } from '../../../functions/src/engine/source/rule-decisions';
import { gmailTask, sourceData } from '../../support/builders';
import { accessTo, inMemoryRunner, InMemoryMailbox } from '../../support/in-memory';

/** Read-after-push lag: the cursor rule, and the bounded looks on the in-memory stores. */

const reach = (over: Partial<Parameters<typeof gmailPassCursor>[0]>) =>
  gmailPassCursor({ start: '100', lastRecord: null, announced: '105', unreadableFrom: null, final: false, ...over });

describe('gmailPassCursor', () => {
  test('records that reach the announced id: the cursor goes to the last of them, nothing lags', () => {
    expect(reach({ lastRecord: '105' })).toEqual({ cursor: '105', lagging: false });
    expect(reach({ announced: null, lastRecord: '103' })).toEqual({ cursor: '103', lagging: false });
    // Work the cursor already passed is no lag.
    expect(reach({ start: '105' })).toEqual({ cursor: '105', lagging: false });
  });
  test('records that stop short of the announced id: the cursor stays at the last one listed, the work lags', () => {
    expect(reach({})).toEqual({ cursor: '100', lagging: true });
    expect(reach({ lastRecord: '102' })).toEqual({ cursor: '102', lagging: true });
  });
  test('a message added that could not be read keeps the cursor before its record', () => {
    expect(reach({ lastRecord: '105', unreadableFrom: '102' })).toEqual({ cursor: '102', lagging: true });
  });
  test('the last attempt waits no longer, and still keeps the cursor at the last record listed', () => {
    expect(reach({ lastRecord: '103', unreadableFrom: '102', final: true })).toEqual({ cursor: '103', lagging: false });
    expect(reach({ final: true })).toEqual({ cursor: '100', lagging: false });
  });
  test('the point before a record lists it again; the retries are 1, 2 and 4 s apart, then none', () => {
    const record = { id: '103', messagesAdded: ['a'], messagesDeleted: [], labelsAdded: [], labelsRemoved: [] };
    expect(pointBefore([record], ['a'])).toBe('102');
    expect(pointBefore([record], ['b'])).toBeNull();
    const t = new Date(0);
    expect([0, 1, 2, 3].map((a) => lagLookAt(t, a)?.getTime() ?? null)).toEqual([1000, 2000, 4000, null]);
    expect(LAG_FINAL_ATTEMPT).toBe(3);
  });
});

class RecordingScheduler implements FollowUpScheduler {
  readonly looks: { at: Date; from: LookFrom | null }[] = [];
  schedule(_sourceId: string, at: Date, from: LookFrom | null): Promise<'scheduled'> {
    this.looks.push({ at, from });
    return Promise.resolve('scheduled');
  }
  /** The lag retries asked for (tail looks carry no retry). */
  retries() {
    return this.looks.filter((l) => l.from?.retry !== undefined);
  }
}

/**
 * Cloud Tasks on a clock ahead of the engine's: every look is due at once, in the order asked,
 * and a name once used is spent (ALREADY_EXISTS), named as the adapter names them.
 */
class QueueAhead implements FollowUpScheduler {
  private readonly spent = new Set<string>();
  readonly queued: LookFrom[] = [];
  schedule(sourceId: string, at: Date, from: LookFrom | null): Promise<'scheduled' | 'duplicate'> {
    const name = followUpTaskId(sourceId, at, from);
    if (this.spent.has(name)) return Promise.resolve('duplicate');
    this.spent.add(name);
    if (from !== null) this.queued.push(from);
    return Promise.resolve('scheduled');
  }
}

function world<S extends FollowUpScheduler = RecordingScheduler>(scheduler?: S) {
  const mailbox = new InMemoryMailbox();
  const followUps = new RecordingScheduler();
  const { clock, sources, tasks, logger, runner } = inMemoryRunner(accessTo(mailbox, { warm: true }), { followUps: scheduler ?? followUps });
  const far = new Date(clock.now().getTime() + 86_400_000);
  const credentialsAt = clock.now();
  const connect = () => sources.create('s1', sourceData({ historyId: String(mailbox.historyId), credentialsAt, watchExpiration: far, calendarChannelExpiration: far, lastPushAt: clock.now() }));
  /** Runs the newest lag retry asked for, as Cloud Tasks would. */
  const runRetry = () => runner.run('s1', { kind: 'look', trigger: 'push', from: followUps.retries().at(-1)!.from });
  return { clock, mailbox, sources, tasks, logger, followUps, runner, connect, runRetry };
}

describe('a Gmail push that arrives before its change is readable', () => {
  test.each(['visible', 'ahead'] as const)('history empty (answer id %s): the cursor stays, a retry is scheduled, the retry finds the mail', async (historyId) => {
    const w = world();
    await w.connect();
    const start = String(w.mailbox.historyId);
    w.mailbox.lag = { hiddenAfter: w.mailbox.historyId, historyId };
    const mail = w.mailbox.deliver('sent to myself');
    await expect(w.runner.handle('s1', { gmail: mail.historyId, calendar: false }, { trigger: 'push' })).resolves.toBe('ran');
    expect(w.tasks.ids()).toEqual([]);
    expect((await w.sources.get('s1'))!.historyId).toBe(start);
    expect(w.followUps.retries().map((l) => [l.at.getTime() - w.clock.now().getTime(), l.from?.historyId, l.from?.retry])).toEqual([[1000, start, 1]]);

    // Still lagging at the first retry: it lists once, writes nothing, asks for the next.
    const writes = w.sources.writes;
    await expect(w.runRetry()).resolves.toBe('nothing-new');
    expect(w.sources.writes).toBe(writes);
    expect(w.followUps.retries().at(-1)!.from?.retry).toBe(2);

    w.mailbox.lag = null;
    await expect(w.runRetry()).resolves.toBe('ran');
    expect(w.tasks.ids()).toEqual([mail.id]);
    expect((await w.sources.get('s1'))!.historyId).toBe(mail.historyId);
    // Its tail look, from the new cursor, is the last retry (a burst's tail may lag too).
    expect(w.followUps.retries().map((l) => [l.from?.historyId, l.from?.retry])).toEqual([[start, 1], [start, 2], [mail.historyId, LAG_FINAL_ATTEMPT]]);
  });

  test('a message added that answers 404: the others are written, the cursor stays before it, a retry writes it', async () => {
    const w = world();
    await w.connect();
    const lagging = w.mailbox.deliver('not readable yet');
    const other = w.mailbox.deliver('readable');
    w.mailbox.unreadable.add(lagging.id);
    await expect(w.runner.handle('s1', { gmail: other.historyId, calendar: false }, { trigger: 'push' })).resolves.toBe('ran');
    expect(w.tasks.ids()).toEqual([other.id]);
    expect((await w.sources.get('s1'))!.historyId).toBe(String(Number(lagging.historyId) - 1));
    w.mailbox.unreadable.clear();
    await expect(w.runRetry()).resolves.toBe('ran');
    expect(w.tasks.ids().sort()).toEqual([lagging.id, other.id].sort());
    expect((await w.sources.get('s1'))!.historyId).toBe(other.historyId);
  });

  test('a message that stays 404 is treated as deleted after three retries, and the count is logged', async () => {
    const w = world();
    await w.connect();
    const gone = w.mailbox.deliver('never readable');
    w.mailbox.unreadable.add(gone.id);
    await w.runner.handle('s1', { gmail: gone.historyId, calendar: false }, { trigger: 'push' });
    for (let retry = 1; retry <= LAG_FINAL_ATTEMPT; retry += 1) {
      expect(w.followUps.retries().at(-1)!.from?.retry).toBe(retry);
      await expect(w.runRetry()).resolves.toBe('ran');
    }
    expect(w.followUps.retries()).toHaveLength(LAG_FINAL_ATTEMPT);
    expect(w.tasks.ids()).toEqual([]);
    expect((await w.sources.get('s1'))!.historyId).toBe(gone.historyId);
    expect(w.logger.lines.filter((l) => l.message === 'gmail messages still unreadable after the retries, treated as deleted').map((l) => l.fields.count)).toEqual([1]);
  });

  test.each([
    ['a push for the earlier change', { gmail: 'first', calendar: false }, { trigger: 'push' }],
    ['a poll', { gmail: null, calendar: false }, { trigger: 'poll', checkGmail: true }],
  ] as const)('an answer id running ahead of a change still hidden (%s): the cursor stops at the last record listed, the later push finds the change', async (_name, work, options) => {
    const w = world();
    await w.connect();
    const first = w.mailbox.deliver('readable');
    w.mailbox.lag = { hiddenAfter: w.mailbox.historyId, historyId: 'ahead' };
    const second = w.mailbox.deliver('not listed yet');
    await expect(w.runner.handle('s1', { ...work, gmail: work.gmail === null ? null : first.historyId }, options)).resolves.toBe('ran');
    expect(w.tasks.ids()).toEqual([first.id]);
    expect((await w.sources.get('s1'))!.historyId).toBe(first.historyId);

    // The change's own push comes once Gmail lists it.
    w.mailbox.lag = null;
    await expect(w.runner.handle('s1', { gmail: second.historyId, calendar: false }, { trigger: 'push' })).resolves.toBe('ran');
    expect(w.tasks.ids().sort()).toEqual([first.id, second.id].sort());
  });

  test('a burst whose announced mail lags: the tail Gmail never announces, readable only after the tail look, is still found by the retries', async () => {
    const w = world();
    await w.connect();
    const start = w.mailbox.historyId;
    w.mailbox.lag = { hiddenAfter: start, historyId: 'ahead' };
    const announced = w.mailbox.deliver('announced');
    // Within Gmail's notification interval: no push of its own.
    const tail = w.mailbox.deliver('tail');
    await w.runner.handle('s1', { gmail: announced.historyId, calendar: false }, { trigger: 'push' });

    // The first retry finds the announced mail readable, the tail not yet.
    w.mailbox.lag = { hiddenAfter: Number(announced.historyId), historyId: 'ahead' };
    await expect(w.runRetry()).resolves.toBe('ran');
    expect(w.tasks.ids()).toEqual([announced.id]);
    // Its tail look, still too early, finds nothing: the next look is asked for all the same.
    const tailLook = w.followUps.looks.at(-1)!;
    await expect(w.runner.run('s1', { kind: 'look', trigger: 'push', from: tailLook.from })).resolves.toBe('nothing-new');
    const next = w.followUps.looks.at(-1)!;
    expect(next).not.toBe(tailLook);

    w.mailbox.lag = null;
    await expect(w.runner.run('s1', { kind: 'look', trigger: 'push', from: next.from })).resolves.toBe('ran');
    expect(w.tasks.ids().sort()).toEqual([announced.id, tail.id].sort());
    expect(w.followUps.retries().length).toBeLessThanOrEqual(LAG_FINAL_ATTEMPT);
  });

  /** A readable mail, then one hidden by the lag with the history id ahead, then history expires. */
  async function hiddenThenExpired() {
    const w = world();
    await w.connect();
    const first = w.mailbox.deliver('readable');
    w.mailbox.lag = { hiddenAfter: w.mailbox.historyId, historyId: 'ahead' };
    const second = w.mailbox.deliver('not listed yet');
    w.mailbox.expireHistory();
    return { w, first, second };
  }

  /** The lag ends, the looks asked for run when due: the walk finds both mails and ends. */
  async function looksWhenDue(w: ReturnType<typeof world>, ids: string[]) {
    w.mailbox.lag = null;
    w.clock.advance(LAG_SPAN_MS);
    for (const look of w.followUps.looks.splice(0)) await w.runner.run('s1', { kind: 'look', trigger: 'push', from: look.from });
    expect(w.tasks.ids().sort()).toEqual(ids.sort());
    expect((await w.sources.get('s1'))!.gmailResync).toBeNull();
  }

  test('history expired while a change is hidden: the resync walk waits out the lag, then finds the change', async () => {
    const { w, first, second } = await hiddenThenExpired();
    await expect(w.runner.handle('s1', { gmail: second.historyId, calendar: false }, { trigger: 'push' })).resolves.toBe('ran');
    // The push that announced the hidden change, delivered again, then the look the passes asked for.
    await w.runner.handle('s1', { gmail: second.historyId, calendar: false }, { trigger: 'push' });
    await looksWhenDue(w, [first.id, second.id]);
  });

  test('a poll that finds history expired while a change is hidden waits out the lag too, then the walk finds the change', async () => {
    const { w, first, second } = await hiddenThenExpired();
    await w.runner.run('s1', { kind: 'check', trigger: 'poll', calendar: false });
    expect(w.tasks.ids()).not.toContain(second.id);
    await looksWhenDue(w, [first.id, second.id]);
  });

  test('walk looks the queue runs before the walk may start (its clock ahead of the engine\'s) ask again under names of their own, until one walks', async () => {
    const queue = new QueueAhead();
    const w = world(queue);
    await w.connect();
    const mail = w.mailbox.deliver('during the outage');
    w.mailbox.expireHistory();
    await w.runner.handle('s1', { gmail: mail.historyId, calendar: false }, { trigger: 'push' });
    expect(w.tasks.ids()).toEqual([]);
    // Each look is run at once, a few milliseconds of the engine's time after it was asked for.
    for (let looks = 0; looks < 1000 && queue.queued.length > 0; looks += 1) {
      w.clock.advance(20);
      await w.runner.run('s1', { kind: 'look', trigger: 'push', from: queue.queued.shift()! });
    }
    expect(w.tasks.ids()).toEqual([mail.id]);
    expect((await w.sources.get('s1'))!.gmailResync).toBeNull();
    // The early ones only asked again: Gmail was listed by the push's pass and the walk.
    expect(w.mailbox.calls.listHistory).toBeLessThan(5);
  });

  test.each([
    ['the fallback poll', { kind: 'check', trigger: 'poll', calendar: false }],
    ['a run for whatever is pending', { kind: 'announced', trigger: 'push', work: { gmail: null, calendar: false } }],
    ['a look from the cursor', { kind: 'look', trigger: 'push', from: null }],
  ] as const)('a walk whose look never comes: the lease kept while it waits expires when it may start, and %s walks it', async (_name, trigger) => {
    const w = world();
    await w.connect();
    const first = w.mailbox.deliver('during the outage');
    w.mailbox.expireHistory();
    await w.runner.handle('s1', { gmail: first.historyId, calendar: false }, { trigger: 'push' });
    const waiting = (await w.sources.get('s1'))!;
    expect(waiting.lease!.until.getTime()).toBe(w.clock.now().getTime() + LAG_SPAN_MS);
    // A push meanwhile is recorded for the walk, not run before it may start.
    const second = w.mailbox.deliver('while the walk waits');
    await expect(w.runner.handle('s1', { gmail: second.historyId, calendar: false }, { trigger: 'push' })).resolves.toBe('recorded');
    expect(w.tasks.ids()).toEqual([]);
    w.clock.advance(LAG_SPAN_MS);
    // What the fallback poll's expired-lease query selects.
    expect((await w.sources.get('s1'))!.lease!.until.getTime()).toBeLessThanOrEqual(w.clock.now().getTime());
    await expect(w.runner.run('s1', trigger)).resolves.toBe('ran');
    expect(w.tasks.ids().sort()).toEqual([first.id, second.id].sort());
    const done = (await w.sources.get('s1'))!;
    expect([done.gmailResync, done.lease, done.pending.gmail]).toEqual([null, null, null]);
  });

  test('a rule change alone is applied by the request it publishes, which announces nothing', async () => {
    const w = world();
    const starred = w.mailbox.deliver('starred before the change', ['STARRED']);
    await w.connect();
    await w.sources.transition('s1', w.clock.now(), ruleReplaced(gmailRuleSchema.parse({ selector: { kind: 'starred' } }), w.clock.now()));
    await expect(w.runner.handle('s1', { gmail: null, calendar: false }, { trigger: 'manual' })).resolves.toBe('ran');
    expect(w.tasks.ids()).toEqual([starred.id]);
    const applied = (await w.sources.get('s1'))!;
    expect([applied.gmailRuleApply, applied.lease]).toEqual([null, null]);
  });

  test('a task a pass still under the old rule wrote after the change is checked by the change\'s sweep too', async () => {
    const w = world();
    const starred = w.mailbox.deliver('starred before the change', ['INBOX', 'STARRED']);
    const plain = w.mailbox.deliver('in the inbox only');
    await w.connect();
    await w.sources.transition('s1', w.clock.now(), ruleReplaced(gmailRuleSchema.parse({ selector: { kind: 'starred' } }), w.clock.now()));
    // A pass that claimed the source before the change (inbox rule) writes the plain mail's task just after it.
    w.clock.advance(5);
    await w.tasks.upsert('user-1', [gmailTask('s1', plain.id, { externalUpdatedAt: w.clock.now(), updatedAt: w.clock.now() })]);
    w.clock.advance(5);
    await expect(w.runner.handle('s1', { gmail: null, calendar: false }, { trigger: 'manual' })).resolves.toBe('ran');
    expect([w.tasks.ids(), w.tasks.ids('archived')]).toEqual([[starred.id], [plain.id]]);
  });

  test('a rule change whose walk missed lagging mail, with history expired at the held cursor: a resync waits out the lag and imports it', async () => {
    const w = world();
    await w.connect();
    await w.sources.transition('s1', w.clock.now(), ruleReplaced(gmailRuleSchema.parse({ selector: { kind: 'starred' } }), w.clock.now()));
    await w.runner.handle('s1', { gmail: null, calendar: false }, { trigger: 'manual' });
    // Mail arrives during an outage that expires history; Gmail does not serve it yet when the inbox rule's walk lists.
    w.mailbox.lag = { hiddenAfter: w.mailbox.historyId, historyId: 'ahead' };
    const outage = w.mailbox.deliver('during the outage');
    w.mailbox.expireHistory();
    await w.sources.transition('s1', w.clock.now(), ruleReplaced(gmailRuleSchema.parse({ selector: { kind: 'inbox' } }), w.clock.now()));
    await expect(w.runner.handle('s1', { gmail: null, calendar: false }, { trigger: 'manual' })).resolves.toBe('ran');
    expect(w.tasks.ids()).toEqual([]);
    expect((await w.sources.get('s1'))!.gmailRuleApply).toBeNull();
    // The lag passes; the walk that was waiting for it runs at the next poll.
    w.mailbox.lag = null;
    w.clock.advance(LAG_SPAN_MS);
    await w.runner.run('s1', { kind: 'check', trigger: 'poll', calendar: false });
    expect(w.tasks.ids()).toEqual([outage.id]);
    const done = (await w.sources.get('s1'))!;
    expect([done.gmailRuleApply, done.gmailResync, done.lease]).toEqual([null, null, null]);
  });

  test('nothing lagging: no retry is scheduled and Gmail is called as before', async () => {
    const w = world();
    await w.connect();
    const mail = w.mailbox.deliver('hello');
    await w.runner.handle('s1', { gmail: mail.historyId, calendar: false }, { trigger: 'push' });
    expect(w.followUps.retries()).toEqual([]);
    expect(w.mailbox.calls).toEqual({ listHistory: 1, getMessagesMetadata: 1 });
  });
});
