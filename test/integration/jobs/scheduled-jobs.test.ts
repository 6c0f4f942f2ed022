import { renewWatches, fallbackPoll, pruneRetention } from '../../../functions/src/engine/jobs/jobs';
import type { SyncRequest } from '../../../functions/src/engine/jobs/ports';
import { createLogger } from '../../../functions/src/logging';
import { IngestionEventRepository } from '../../../functions/src/store/ingestion-events';
import { SourceRepository } from '../../../functions/src/store/sources';
import { sourceData } from '../../support/builders';
import { MovableClock } from '../../support/clock';
import { registerWatch, runJob, runnerWith, startEngineStack, storeWithTransitions, type EngineStack } from '../../support/engine-stack';
import { freshFirestore } from '../../support/firestore';
import { waitFor } from '../../support/wait';
import { withPushesLost } from '../../support/burst';

const HOUR = 3_600_000;
const clock = new MovableClock();
let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack({ overrides: { clock } });
});
afterAll(() => stack.close());

const at = (iso: string) => ({ dateTime: iso });
const tasksOf = async (userId: string) => (await stack.db.collection(`users/${userId}/tasks`).get()).docs.map((d) => d.data() as { origin: string; title: string });

async function connectAndWatch(sourceId: string, email: string, userId: string) {
  await stack.connect(sourceId, email, userId);
  expect((await registerWatch(stack, sourceId)).status).toBe(200);
  return (await stack.services.sources.get(sourceId))!;
}

test('renews a watch and a channel 23 h from expiry, not one 25 h away, re-registers an expired one, and stops the old channel after the new one exists', async () => {
  const now = clock.now().getTime();
  const soon = await connectAndWatch('src-23h', 'soon@example.com', 'user-renew');
  const later = await connectAndWatch('src-25h', 'later@example.com', 'user-renew');
  const expired = await connectAndWatch('src-expired', 'expired@example.com', 'user-renew');
  const setExpiry = (id: string, ms: number) =>
    stack.services.sources.update(id, clock.now(), () => ({ watchExpiration: new Date(ms), calendarChannelExpiration: new Date(ms) }));
  await setExpiry('src-23h', now + 23 * HOUR);
  await setExpiry('src-25h', now + 25 * HOUR);
  await setExpiry('src-expired', now - HOUR);

  const summary = await runJob(stack, 'renewWatches');
  expect(summary.requested).toBe(2);
  for (const id of ['src-23h', 'src-expired']) {
    await waitFor(async () => (await stack.services.sources.get(id))!.watchExpiration!.getTime() > now + 6 * 24 * HOUR);
    await waitFor(async () => (await stack.services.sources.get(id))!.calendarChannelExpiration!.getTime() > now + 6 * 24 * HOUR);
  }
  const renewed = (await stack.services.sources.get('src-23h'))!;
  expect(renewed.calendarChannelId).not.toBe(soon.calendarChannelId);
  expect(renewed.status).toBe('active');
  expect((await stack.services.sources.get('src-expired'))!.calendarChannelId).not.toBe(expired.calendarChannelId);
  const untouched = (await stack.services.sources.get('src-25h'))!;
  expect(untouched.calendarChannelId).toBe(later.calendarChannelId);
  expect(untouched.watchExpiration!.getTime()).toBe(now + 25 * HOUR);

  // The old channels are stopped at Google and gone from the index; the new ones are live.
  // Each source's renewal stops its old channel after opening the new one, in its own request.
  for (const old of [soon, expired]) await waitFor(async () => (await stack.services.channels.get(old.calendarChannelId!)) === null);
  const live = (await stack.admin.channels()).channels.map((c) => c.id);
  expect(live).toContain(renewed.calendarChannelId);
  expect(live).not.toContain(soon.calendarChannelId);
  expect(live).not.toContain(expired.calendarChannelId);
});

test('with every push dropped, mail and events still become tasks within one poll; degraded + polling until pushes flow again', async () => {
  const email = 'dropped@example.com';
  await connectAndWatch('src-dropped', email, 'user-dropped');
  await stack.admin.setFaults({ push: { dropRate: 1 } });
  await new Promise((r) => setTimeout(r, 1100));
  await stack.admin.deliverMail(email, { subject: 'nobody told us' });
  await stack.admin.createEvent(email, { summary: 'silent event', start: at('2026-12-09T10:00:00Z'), end: at('2026-12-09T11:00:00Z') });
  await stack.admin.drainPushes();
  expect(await tasksOf('user-dropped')).toEqual([]);

  clock.advance(11 * 60_000);
  const summary = await runJob(stack, 'fallbackPoll');
  expect(summary.requested as number).toBeGreaterThanOrEqual(1);
  await waitFor(async () => (await tasksOf('user-dropped')).length === 2);
  await stack.settled('src-dropped');
  const degraded = (await stack.services.sources.get('src-dropped'))!;
  expect(degraded).toMatchObject({ status: 'degraded', polling: true, statusReason: 'A poll found changes that no push announced' });
  expect((await stack.services.events.listForSource('src-dropped', clock.now())).some((e) => e.trigger === 'poll')).toBe(true);

  await stack.admin.setFaults({});
  await new Promise((r) => setTimeout(r, 1100));
  await stack.admin.deliverMail(email, { subject: 'pushes are back' });
  await waitFor(async () => (await tasksOf('user-dropped')).length === 3);
  await stack.settled('src-dropped');
  expect(await stack.services.sources.get('src-dropped')).toMatchObject({ status: 'active', polling: false, statusReason: null });
});

test('a crashed holder\'s lease is picked up by the next poll and the pending work completes', async () => {
  const email = 'crashed@example.com';
  await connectAndWatch('src-crashed', email, 'user-crashed');
  await stack.admin.setFaults({ push: { dropRate: 1 } });
  await new Promise((r) => setTimeout(r, 1100));
  const mail = await stack.admin.deliverMail(email, { subject: 'left behind by a crash' });
  await stack.admin.setFaults({});
  await stack.services.sources.update('src-crashed', clock.now(), () => ({
    lease: { owner: 'dead-instance', until: new Date(clock.now().getTime() - 1000) },
    pending: { gmail: mail.historyId, calendar: false, calendars: [] },
    lastCheckAt: clock.now(),
    lastPushAt: clock.now(),
  }));
  await runJob(stack, 'fallbackPoll');
  await waitFor(async () => (await tasksOf('user-crashed')).some((t) => t.title === 'left behind by a crash'));
  await stack.settled('src-crashed');
  expect((await stack.services.sources.get('src-crashed'))!.historyId).toBe(mail.historyId);
});

test('pruning deletes only expired events, in batches, and reports the count', async () => {
  const events = new IngestionEventRepository(stack.db, 7 * 24 * HOUR);
  const base = { sourceId: 'src-prune', userId: 'u', type: 'gmail' as const, trigger: 'push' as const, counts: {}, durationMs: 1, outcome: 'ok' as const, error: null };
  const now = clock.now().getTime();
  for (let i = 0; i < 7; i += 1) await events.record({ ...base, createdAt: new Date(now - 8 * 24 * HOUR - i * 1000) });
  for (let i = 0; i < 3; i += 1) await events.record({ ...base, createdAt: new Date(now - 24 * HOUR) });

  const logger = createLogger(() => undefined);
  const batched = await pruneRetention({ events, clock, logger }, { batchSize: 3, maxBatches: 2 });
  expect(batched).toEqual({ deleted: 6, batches: 2, complete: false });
  const summary = await runJob(stack, 'pruneRetention');
  expect(summary).toMatchObject({ job: 'pruneRetention', complete: true });
  expect(summary.deleted as number).toBeGreaterThanOrEqual(1);
  const left = await stack.db.collection('ingestion_events').where('sourceId', '==', 'src-prune').get();
  expect(left.size).toBe(3);
});

test('with 2,000 sources of which 20 need work, each job reads and requests only those 20', async () => {
  const { db } = await freshFirestore();
  const sources = new SourceRepository(db);
  const now = new Date();
  const healthy = { watchExpiration: new Date(now.getTime() + 5 * 24 * HOUR), calendarChannelExpiration: new Date(now.getTime() + 5 * 24 * HOUR), lastCheckAt: now, lastPushAt: now };
  const needy = { ...healthy, watchExpiration: new Date(now.getTime() + 2 * HOUR), lastCheckAt: new Date(now.getTime() - HOUR), lastPushAt: new Date(now.getTime() - HOUR) };
  for (let chunk = 0; chunk < 2000; chunk += 500) {
    const batch = db.batch();
    for (let i = chunk; i < chunk + 500; i += 1) {
      batch.set(db.doc(`sources/bulk-${String(i).padStart(4, '0')}`), sourceData({ email: `bulk${i}@example.com`, ...(i % 100 === 0 ? needy : healthy) }));
    }
    await batch.commit();
  }
  const published: SyncRequest[] = [];
  const deps = { sources, publisher: { publish: (r: SyncRequest) => Promise.resolve(void published.push(r)) }, clock: { now: () => now }, logger: createLogger(() => undefined) };

  expect(await renewWatches(deps, 24 * HOUR)).toEqual({ requested: 20 });
  expect(sources.scannedDocuments).toBe(20);
  expect(new Set(published.map((r) => r.sourceId)).size).toBe(20);

  sources.scannedDocuments = 0;
  published.length = 0;
  expect(await fallbackPoll(deps, { fallbackAfterMs: 10 * 60_000, pollPageSize: 5 })).toEqual({ requested: 20 });
  expect(sources.scannedDocuments).toBe(20);
  expect(published.every((r) => r.kind === 'sync' && r.trigger === 'poll' && r.pageSize === 5 && r.gmail && r.calendar)).toBe(true);
  await db.terminate();
});

test('a quiet mailbox recovers: after a poll found missed changes, the next poll that finds none clears the banner', async () => {
  const email = 'quiet@example.com';
  await connectAndWatch('src-quiet', email, 'user-quiet');
  await withPushesLost(stack.admin, () => stack.admin.deliverMail(email, { subject: 'missed' }));

  clock.advance(11 * 60_000);
  await runJob(stack, 'fallbackPoll');
  await waitFor(async () => (await tasksOf('user-quiet')).length === 1);
  await stack.settled('src-quiet');
  expect(await stack.services.sources.get('src-quiet')).toMatchObject({ status: 'degraded', polling: true });

  // Nothing happens in the mailbox, so no push ever comes: the next poll finds nothing.
  clock.advance(11 * 60_000);
  await runJob(stack, 'fallbackPoll');
  await waitFor(async () => (await stack.services.sources.get('src-quiet'))!.missedPushAt === null, 10_000);
  await stack.settled('src-quiet');
  expect(await stack.services.sources.get('src-quiet')).toMatchObject({ status: 'active', polling: false, statusReason: null });
});

test('a poll racing a holder that listed before an unannounced change leaves the holder that change, not "covered"', async () => {
  const email = 'poll-race@example.com';
  await stack.connect('src-poll-race', email, 'user-poll-race');
  const { historyId: cursor } = await stack.admin.account(email);
  // A holder (another instance) has listed history up to `listed` and not stored it yet.
  const listed = (await stack.admin.deliverMail(email, { subject: 'listed by the holder' })).historyId;
  const now = clock.now();
  await stack.services.sources.update('src-poll-race', now, () => ({ historyId: cursor, lease: { owner: 'holder', until: new Date(now.getTime() + 60_000) } }));
  // A change whose push was lost arrives after the holder's listing; the poll records what Gmail shows.
  const missed = await stack.admin.deliverMail(email, { subject: 'push lost' });
  expect(await stack.services.runner.handle('src-poll-race', { gmail: null, calendar: true }, { trigger: 'poll', checkGmail: true })).toBe('recorded');
  expect((await stack.services.sources.get('src-poll-race'))!.pending.gmail).toBe(missed.historyId);
  expect(listed).not.toBe(missed.historyId);
});

test('a calendar whose push went missing is polled within one cycle while mail keeps the rest of the source busy', async () => {
  const [email, userId] = ['busy-mailbox@example.com', 'user-busy-mailbox'];
  await stack.connect('src-busy', email, userId);
  const work = await stack.admin.createCalendar(email, 'Work');
  await stack.services.sources.update('src-busy', clock.now(), () => ({ calendarSelection: ['primary', work.id] }));
  expect((await registerWatch(stack, 'src-busy')).status).toBe(200);
  const start = clock.now().getTime() + 24 * HOUR;
  const event = await stack.admin.createEvent(email, { summary: 'work event', start: at(new Date(start).toISOString()), end: at(new Date(start + HOUR).toISOString()), calendarId: work.id });
  const task = async () => (await stack.db.doc(`users/${userId}/tasks/src-busy:calendar:${encodeURIComponent(work.id)}:${event.id}`).get()).data() as { title: string } | undefined;
  await waitFor(async () => (await task())?.title === 'work event');
  await stack.settled('src-busy');
  // The rename's notification is lost, and nothing changes on that calendar again.
  await withPushesLost(stack.admin, () => stack.admin.updateEvent(email, event.id, { summary: 'work event (renamed)' }, work.id));

  // Ten minutes on, mail keeps arriving: pushes and passes for Gmail only, none for the calendar.
  clock.advance(11 * 60_000);
  await stack.admin.deliverMail(email, { subject: 'mail keeps coming' });
  await waitFor(async () => (await tasksOf(userId)).some((t) => t.title === 'mail keeps coming'));
  await stack.settled('src-busy');
  expect((await stack.services.sources.get('src-busy'))?.lastPushAt?.getTime()).toBeGreaterThan(clock.now().getTime() - 60_000);

  await runJob(stack, 'fallbackPoll');
  await waitFor(async () => (await task())?.title === 'work event (renamed)');
  await stack.settled('src-busy');
});

const quietPoll = (runner: EngineStack['services']['runner']) => runner.handle('src-quiet-poll', { gmail: null, calendar: true }, { trigger: 'poll', checkGmail: true, pageSize: 5 });

test('a fallback poll of a quiet source, through the sandbox: one write of the source and no lease; a change it finds runs as before', async () => {
  const [email, userId] = ['quiet-poll@example.com', 'user-quiet-poll'];
  await stack.connect('src-quiet-poll', email, userId);
  expect((await registerWatch(stack, 'src-quiet-poll')).status).toBe(200);
  // The account's first poll lists the calendar in full and stores its sync token.
  await quietPoll(stack.services.runner);
  await stack.settled('src-quiet-poll');
  const synced = (await stack.services.sources.get('src-quiet-poll'))!;
  expect(synced.calendarSyncToken).not.toBeNull();

  let transitions = 0;
  const counted = storeWithTransitions(stack, (n, run) => {
    transitions = n;
    return run();
  });
  const runner = runnerWith(stack, counted, { leaseMs: 60_000, passBudgetMs: 60_000, fetchBatchSize: 50 });

  clock.advance(11 * 60_000);
  const asked = clock.now().getTime();
  expect(await quietPoll(runner)).toBe('nothing-new');
  expect(transitions).toBe(1);
  const checked = (await stack.services.sources.get('src-quiet-poll'))!;
  expect(checked.lease).toBeNull();
  // Checked when the poll asked: the fallback poll's queries leave it alone for 10 minutes.
  for (const at of [checked.lastCheckAt, checked.calendarsCheckedBy]) expect(at!.getTime()).toBeGreaterThanOrEqual(asked);
  expect(checked.historyId).toBe(synced.historyId);

  // An event whose notification was lost: the next poll finds it and takes the lease for it.
  const start = new Date(clock.now().getTime() + 24 * HOUR);
  let eventId = '';
  await withPushesLost(stack.admin, async () => {
    eventId = (await stack.admin.createEvent(email, { summary: 'found by the poll', start: { dateTime: start.toISOString() }, end: { dateTime: new Date(start.getTime() + HOUR).toISOString() } })).id;
  });
  clock.advance(11 * 60_000);
  transitions = 0;
  expect(await quietPoll(runner)).toBe('ran');
  expect(transitions).toBeGreaterThanOrEqual(2);
  const task = await stack.db.doc(`users/${userId}/tasks/src-quiet-poll:calendar:${eventId}`).get();
  expect(task.data()).toMatchObject({ title: 'found by the poll', status: 'open' });
  expect((await stack.services.sources.get('src-quiet-poll'))!.lease).toBeNull();
});
