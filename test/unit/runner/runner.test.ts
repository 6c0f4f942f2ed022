import { GoogleError } from '../../../functions/src/engine/errors';
import { LAG_SPAN_MS } from '../../../functions/src/engine/gmail/read-lag';
import type { SourceData } from '../../../functions/src/engine/model';
import { sourceData } from '../../support/builders';
import { accessTo, inMemoryRunner, InMemoryMailbox } from '../../support/in-memory';

const LEASE_MS = 60_000;

function world(options: { passBudgetMs?: number; warm?: boolean } = {}) {
  const mailbox = new InMemoryMailbox();
  const { clock, sources, tasks, logger, runner } = inMemoryRunner(accessTo(mailbox, { warm: options.warm ?? false }), options);
  const far = new Date(clock.now().getTime() + 86_400_000);
  const connect = (overrides: Partial<SourceData> = {}) =>
    sources.create('s1', sourceData({ historyId: String(mailbox.historyId), watchExpiration: far, calendarChannelExpiration: far, lastPushAt: clock.now(), ...overrides }));
  return { clock, mailbox, sources, tasks, logger, runner, connect };
}

test('a push: the new mail becomes a task, the cursor moves to the mailbox, the lease is released', async () => {
  const w = world();
  await w.connect();
  const mail = w.mailbox.deliver('hello');
  await expect(w.runner.handle('s1', { gmail: mail.historyId, calendar: false }, { trigger: 'push', pushAt: w.clock.now() })).resolves.toBe('ran');
  expect(w.tasks.ids()).toEqual([mail.id]);
  const source = (await w.sources.get('s1'))!;
  expect(source.historyId).toBe(mail.historyId);
  expect(source.lease).toBeNull();
  expect(source.pending).toEqual({ gmail: null, calendar: false, calendars: [] });
});

test('a push whose work the cursor covers writes nothing', async () => {
  const w = world();
  const mail = w.mailbox.deliver('old');
  await w.connect();
  await expect(w.runner.handle('s1', { gmail: mail.historyId, calendar: false }, { trigger: 'push' })).resolves.toBe('nothing-new');
  expect(w.sources.writes).toBe(0);
});

test('lease lost mid-pass: the successor owns the work, the cursor is not stored by the loser', async () => {
  const w = world({ passBudgetMs: 60_000 });
  await w.connect();
  const start = String(w.mailbox.historyId);
  const mail = w.mailbox.deliver('contended');
  w.mailbox.beforeCall = (operation) => {
    if (operation === 'getMessagesMetadata') w.sources.put('s1', { lease: { owner: 'successor', until: new Date(w.clock.now().getTime() + LEASE_MS) } });
  };
  await expect(w.runner.handle('s1', { gmail: mail.historyId, calendar: false }, { trigger: 'push' })).resolves.toBe('recorded');
  const source = (await w.sources.get('s1'))!;
  expect(source.lease?.owner).toBe('successor');
  expect(source.historyId).toBe(start);
  expect(source.pending.gmail).toBe(mail.historyId);
});

test('a transient failure gives the work back under an expired lease and rethrows', async () => {
  const w = world();
  await w.connect();
  const mail = w.mailbox.deliver('flaky');
  w.mailbox.beforeCall = (operation) => {
    if (operation === 'listHistory') throw new GoogleError('retryable', 'backend error', { status: 503 });
  };
  await expect(w.runner.handle('s1', { gmail: mail.historyId, calendar: false }, { trigger: 'push' })).rejects.toThrow('backend error');
  const source = (await w.sources.get('s1'))!;
  expect(source.pending.gmail).toBe(mail.historyId);
  expect(source.lease!.until.getTime()).toBeLessThanOrEqual(w.clock.now().getTime());
  expect(source.consecutiveErrors).toBe(1);
});

test('orphaned work (given back, nobody holding it) is taken by a look even when Gmail shows nothing new', async () => {
  const w = world();
  const cursor = String(w.mailbox.historyId);
  const announced = String(w.mailbox.historyId + 1);
  await w.connect({ historyId: cursor, pending: { gmail: announced, calendar: false, calendars: [] }, lease: { owner: 'dead', until: w.clock.now() } });
  w.clock.advance(1);
  const outcome = await w.runner.handle('s1', { gmail: null, calendar: false }, { trigger: 'poll', checkGmail: true, onlyIfGmailChanged: true });
  expect(outcome).toBe('ran');
  const source = (await w.sources.get('s1'))!;
  expect(source.lease).toBeNull();
  expect(source.pending).toEqual({ gmail: null, calendar: false, calendars: [] });
});

test('a look that finds nothing and no orphaned work: nothing new, no write', async () => {
  const w = world();
  await w.connect();
  const outcome = await w.runner.handle('s1', { gmail: null, calendar: false }, { trigger: 'poll', checkGmail: true, onlyIfGmailChanged: true });
  expect(outcome).toBe('nothing-new');
  expect(w.sources.writes).toBe(0);
});

test('a tail look that finds nothing costs one history listing and no write', async () => {
  const w = world({ warm: true });
  await w.connect();
  const outcome = await w.runner.handle('s1', { gmail: null, calendar: false }, { trigger: 'poll', checkGmail: true, onlyIfGmailChanged: true, lookFrom: { historyId: String(w.mailbox.historyId), credentialsAt: w.clock.now(), labelId: 'INBOX' } });
  expect(outcome).toBe('nothing-new');
  expect(w.mailbox.calls).toEqual({ listHistory: 1 });
  expect(w.sources.writes).toBe(0);
});

test('an early page that does not cover newer work claimed meanwhile is not used: the pass lists again and finds both mails', async () => {
  const w = world();
  await w.connect();
  const first = w.mailbox.deliver('first');
  let second: { id: string; historyId: string } | null = null;
  // Between the decision that takes the lease and its write, another trigger records newer work.
  w.sources.interleave = (store) => {
    second = w.mailbox.deliver('second');
    store.put('s1', { pending: { gmail: second.historyId, calendar: false, calendars: [] } });
  };
  await expect(w.runner.handle('s1', { gmail: first.historyId, calendar: false }, { trigger: 'push' })).resolves.toBe('ran');
  expect(w.mailbox.calls.listHistory).toBe(2);
  expect(w.tasks.ids()).toEqual([first.id, second!.id].sort());
  expect((await w.sources.get('s1'))!.historyId).toBe(second!.historyId);
});

test('an early page that covers the claimed work is the pass first page: one history listing', async () => {
  const w = world();
  await w.connect();
  const mail = w.mailbox.deliver('alone');
  await w.runner.handle('s1', { gmail: mail.historyId, calendar: false }, { trigger: 'push' });
  expect(w.mailbox.calls.listHistory).toBe(1);
});

test('a backlog beyond the pass budget: each pass stops at its budget (the test clock), the steps go on until it is done', async () => {
  const w = world({ passBudgetMs: 1_000 });
  await w.connect();
  const delivered = Array.from({ length: 250 }, (_, i) => w.mailbox.deliver(`backlog ${i}`));
  // Each history listing takes a whole budget of the test's time: a pass whose first page was
  // asked for early reads one more page, later passes one, then hand on.
  w.mailbox.beforeCall = (operation) => {
    if (operation === 'listHistory') w.clock.advance(1_000);
  };
  await expect(w.runner.handle('s1', { gmail: delivered[249]!.historyId, calendar: false }, { trigger: 'push' })).resolves.toBe('ran');
  expect(w.tasks.ids()).toEqual(delivered.map((d) => d.id).sort());
  const passes = w.logger.lines.filter((l) => l.message === 'gmail sync finished').map((l) => l.fields.counts as Record<string, number>);
  expect(passes.map((c) => c.historyPages)).toEqual([2, 1]);
  expect(passes[0]!.budgetReached).toBe(1);
  expect((await w.sources.get('s1'))!.historyId).toBe(delivered[249]!.historyId);
});

test('history expired: the resync begins, walks the inbox once changes Gmail may not serve yet are readable, and the delta from the fresh cursor follows', async () => {
  const w = world();
  await w.connect();
  const delivered = Array.from({ length: 3 }, (_, i) => w.mailbox.deliver(`outage ${i}`));
  w.mailbox.expireHistory();
  await expect(w.runner.handle('s1', { gmail: delivered[2]!.historyId, calendar: false }, { trigger: 'push' })).resolves.toBe('ran');
  expect(w.tasks.ids()).toEqual([]);
  expect((await w.sources.get('s1'))!.gmailResync).toMatchObject({ cursor: String(w.mailbox.historyId), pageToken: null });
  // A trigger within the lag retries' span is recorded for the walk (the lease is kept while it waits); the next one after it walks.
  w.clock.advance(LAG_SPAN_MS - 1);
  await expect(w.runner.handle('s1', { gmail: delivered[2]!.historyId, calendar: false }, { trigger: 'push' })).resolves.toBe('recorded');
  expect(w.tasks.ids()).toEqual([]);
  w.clock.advance(1);
  await expect(w.runner.handle('s1', { gmail: delivered[2]!.historyId, calendar: false }, { trigger: 'push' })).resolves.toBe('ran');
  expect(w.tasks.ids()).toEqual(delivered.map((d) => d.id).sort());
  const source = (await w.sources.get('s1'))!;
  expect(source.gmailResync).toBeNull();
  expect(source.historyId).toBe(String(w.mailbox.historyId));
});

test('a disconnected source is not run', async () => {
  const w = world();
  await w.connect({ status: 'disconnected', disconnectReason: 'revoked' });
  await expect(w.runner.handle('s1', { gmail: '2000', calendar: false }, { trigger: 'push' })).resolves.toBe('disconnected');
});
