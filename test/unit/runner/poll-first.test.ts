import { GoogleError } from '../../../functions/src/engine/errors';
import type { SourceData } from '../../../functions/src/engine/model';
import { quietPollChecked } from '../../../functions/src/engine/source/quiet-poll';
import { DEFAULT_STATUS_SETTINGS, statusDerivation } from '../../../functions/src/engine/source/status';
import { calendarWindow, DEFAULT_TASK_RULE } from '../../../functions/src/engine/task-rule';
import { sourceData } from '../../support/builders';
import { inMemoryRunner, InMemoryMailbox } from '../../support/in-memory';
import { accessToCalendars, InMemoryCalendar } from '../../support/in-memory-calendar';

const LEASE_MS = 60_000;
const HOUR_MS = 3_600_000;
const POLL = { trigger: 'poll', checkGmail: true, pageSize: 5 } as const;
const POLL_WORK = { gmail: null, calendar: true };

function world() {
  const mailbox = new InMemoryMailbox();
  const calendar = new InMemoryCalendar();
  const { clock, sources, tasks, logger, runner } = inMemoryRunner(accessToCalendars(mailbox, { primary: calendar }));
  const window = () => calendarWindow(clock.now(), DEFAULT_TASK_RULE);
  const lastCheck = new Date(clock.now().getTime() - HOUR_MS);
  // A source synced an hour ago: both cursors stored, the horizon at the window's end then.
  const connect = async (overrides: Partial<SourceData> = {}) => {
    await calendar.listEvents({ timeMin: window().timeMin, pageToken: null, maxResults: 250 });
    await sources.create(
      's1',
      sourceData({
        historyId: String(mailbox.historyId),
        calendarSyncToken: '0',
        calendarHorizon: new Date(window().timeMax.getTime() - HOUR_MS),
        lastCheckAt: lastCheck,
        lastSyncAt: lastCheck,
        calendarCheckedAt: lastCheck,
        calendarsCheckedBy: lastCheck,
        ...overrides,
      }),
    );
    delete calendar.calls.listEvents;
  };
  const poll = () => runner.handle('s1', POLL_WORK, POLL);
  const soon = () => new Date(clock.now().getTime() + 2 * HOUR_MS);
  return { clock, mailbox, calendar, sources, tasks, logger, runner, connect, poll, soon, lastCheck };
}

/** A Gmail watch and a Calendar channel good for a day: the status says only what the test changes. */
function watched(now: Date): Partial<SourceData> {
  const expiration = new Date(now.getTime() + 24 * HOUR_MS);
  return { watchExpiration: expiration, calendarChannelExpiration: expiration };
}

test('a poll that finds nothing at Gmail or Calendar writes its check in one write and takes no lease', async () => {
  const w = world();
  await w.connect();
  await expect(w.poll()).resolves.toBe('nothing-new');
  // One decision, one write: neither the lease's record nor a step's end.
  expect(w.sources.decisions).toBe(1);
  expect(w.sources.writes).toBe(1);
  expect(w.mailbox.calls).toEqual({ listHistory: 1 });
  expect(w.calendar.calls).toEqual({ listEvents: 1 });
  const source = (await w.sources.get('s1'))!;
  expect(source.lease).toBeNull();
  expect(source.pending).toEqual({ gmail: null, calendar: false, calendars: [] });
  // What the fallback poll's queries read: this source is not picked again for a while.
  expect(source.lastCheckAt).toEqual(w.clock.now());
  expect(source.calendarCheckedAt).toEqual(w.clock.now());
  expect(source.calendarsCheckedBy).toEqual(w.clock.now());
  expect(source.lastSyncAt).toEqual(w.clock.now());
  expect(source.calendarSyncToken).toBe('0');
  // Logged as a Calendar pass that found nothing is: the sync metrics and the stall alert count it.
  expect(w.logger.lines.filter((l) => l.message === 'calendar sync finished').map((l) => l.fields)).toEqual([expect.objectContaining({ sourceId: 's1', trigger: 'poll', counts: { pages: 1, events: 0 } })]);
});

test('a poll asks its calendar alongside Gmail, not after Gmail answered', async () => {
  const w = world();
  await w.connect();
  let calendarAskedMeanwhile: boolean | null = null;
  w.mailbox.beforeCall = async () => {
    // Everything already started runs before this yields back.
    await new Promise((resolve) => setImmediate(resolve));
    calendarAskedMeanwhile = w.calendar.calls.listEvents === 1;
  };
  await expect(w.poll()).resolves.toBe('nothing-new');
  expect(calendarAskedMeanwhile).toBe(true);
});

test('a poll that finds a mail runs as before: the lease, the pass, the step end', async () => {
  const w = world();
  await w.connect();
  const mail = w.mailbox.deliver('missed push');
  await expect(w.poll()).resolves.toBe('ran');
  expect(w.tasks.ids()).toEqual([mail.id]);
  const source = (await w.sources.get('s1'))!;
  expect(source.historyId).toBe(mail.historyId);
  expect(source.lease).toBeNull();
  expect(w.sources.writes).toBe(2);
});

test('a poll that finds a calendar change runs as before and stores the new token', async () => {
  const w = world();
  await w.connect();
  w.calendar.change('meeting', w.soon());
  await expect(w.poll()).resolves.toBe('ran');
  expect(w.tasks.ids()).toEqual(['meeting']);
  const source = (await w.sources.get('s1'))!;
  expect(source.calendarSyncToken).toBe('1');
  expect(source.calendarCheckedAt).toEqual(w.clock.now());
  expect(source.lease).toBeNull();
});

test('a poll with a walk due runs as before, even when Google shows nothing', async () => {
  const w = world();
  await w.connect({ gmailResync: { cursor: String(w.mailbox.historyId), pageToken: null, imported: 0, startedAt: new Date(w.clock.now().getTime() - HOUR_MS) } });
  await expect(w.poll()).resolves.toBe('ran');
  const source = (await w.sources.get('s1'))!;
  expect(source.gmailResync).toBeNull();
  expect(w.mailbox.calls.listMessageIds).toBeGreaterThan(0);
});

test('a poll whose calendar horizon is due runs as before and moves the horizon', async () => {
  const w = world();
  await w.connect({ calendarHorizon: new Date(w.clock.now().getTime()) });
  await expect(w.poll()).resolves.toBe('ran');
  const source = (await w.sources.get('s1'))!;
  expect(source.calendarHorizon).toEqual(calendarWindow(w.clock.now(), DEFAULT_TASK_RULE).timeMax);
});

test('a poll that meets work given back with nobody holding it runs as before', async () => {
  const w = world();
  await w.connect({ pending: { gmail: null, calendar: true, calendars: [] }, lease: { owner: 'dead', until: w.clock.now() } });
  w.clock.advance(1);
  await expect(w.poll()).resolves.toBe('ran');
  const source = (await w.sources.get('s1'))!;
  expect(source.lease).toBeNull();
  expect(source.pending).toEqual({ gmail: null, calendar: false, calendars: [] });
});

test('a calendar whose token Google no longer accepts: the poll runs as before and lists the calendar in full', async () => {
  const w = world();
  w.calendar.change('kept', w.soon());
  await w.connect();
  w.calendar.change('later', w.soon());
  w.calendar.invalidateTokens();
  await expect(w.poll()).resolves.toBe('ran');
  expect(w.tasks.ids()).toEqual(['kept', 'later']);
  expect((await w.sources.get('s1'))!.calendarSyncToken).toBe('2');
});

test('a Calendar that keeps failing transiently: each poll runs the pass, which counts the error, and the source degrades', async () => {
  const w = world();
  await w.connect(watched(w.clock.now()));
  w.calendar.beforeCall = () => {
    throw new GoogleError('retryable', 'backend error', { status: 503 });
  };
  for (let poll = 1; poll <= DEFAULT_STATUS_SETTINGS.errorThreshold; poll += 1) {
    // Thrown after the step's end is written: Pub/Sub redelivers, and the error is counted.
    await expect(w.poll()).rejects.toThrow('backend error');
    expect((await w.sources.get('s1'))!.consecutiveErrors).toBe(poll);
  }
  expect((await w.sources.get('s1'))!).toMatchObject({ status: 'degraded', statusReason: '3 sync errors in a row' });
});

test('a transient Gmail failure while asking: the poll runs the pass, which counts the error', async () => {
  const w = world();
  await w.connect(watched(w.clock.now()));
  w.mailbox.beforeCall = () => {
    throw new GoogleError('retryable', 'backend error', { status: 503 });
  };
  await expect(w.poll()).rejects.toThrow('backend error');
  expect((await w.sources.get('s1'))!.consecutiveErrors).toBe(1);
});

test('a quiet poll that changes the status logs the change, as a step end does', async () => {
  const w = world();
  // Degraded by a poll that found changes no push announced, an hour ago: settled by now.
  await w.connect({ ...watched(w.clock.now()), missedPushAt: new Date(w.clock.now().getTime() - HOUR_MS), status: 'degraded', statusReason: 'A poll found changes that no push announced', polling: true });
  await expect(w.poll()).resolves.toBe('nothing-new');
  expect(w.sources.writes).toBe(1);
  expect((await w.sources.get('s1'))!).toMatchObject({ status: 'active', missedPushAt: null });
  expect(w.logger.lines.filter((l) => l.message === 'source status changed').map((l) => l.fields)).toEqual([{ sourceId: 's1', status: 'active', previous: 'degraded', reason: null }]);
});

test('a quiet poll leaves later check times a run wrote while it asked', async () => {
  const w = world();
  await w.connect();
  const askedAt = w.clock.now();
  let endedAt: Date | null = null;
  // After Gmail and the calendar answered, before the poll's write: a run that found nothing ended.
  w.sources.interleave = (store, id) => {
    w.clock.advance(1_000);
    endedAt = w.clock.now();
    store.put(id, { lastCheckAt: endedAt, lastSyncAt: endedAt, calendarCheckedAt: endedAt, calendarsCheckedBy: endedAt });
  };
  await expect(w.poll()).resolves.toBe('nothing-new');
  expect(endedAt!.getTime()).toBeGreaterThan(askedAt.getTime());
  const source = (await w.sources.get('s1'))!;
  expect(source).toMatchObject({ lastCheckAt: endedAt, lastSyncAt: endedAt, calendarCheckedAt: endedAt, calendarsCheckedBy: endedAt });
});

test('a source disconnected while the poll asked gets no quiet write: the poll runs as for a disconnected source', async () => {
  const w = world();
  await w.connect();
  const reason = 'Google access was revoked; reconnect the account';
  w.sources.interleave = (store, id) => store.put(id, { disconnectReason: reason, status: 'disconnected', statusReason: reason });
  await w.poll();
  const source = (await w.sources.get('s1'))!;
  expect(source).toMatchObject({ status: 'disconnected', lastCheckAt: w.lastCheck, calendarCheckedAt: w.lastCheck, lease: null });
});

test('a mail that arrives after the poll asked Gmail is not lost: the cursor stays before it, and its push syncs it', async () => {
  const w = world();
  await w.connect();
  const cursor = String(w.mailbox.historyId);
  let mail: { id: string; historyId: string } | null = null;
  // After Gmail and the calendar answered, before the poll's write.
  w.sources.interleave = () => {
    mail = w.mailbox.deliver('meanwhile');
  };
  await expect(w.poll()).resolves.toBe('nothing-new');
  expect((await w.sources.get('s1'))!.historyId).toBe(cursor);
  await expect(w.runner.handle('s1', { gmail: mail!.historyId, calendar: false }, { trigger: 'push', pushAt: w.clock.now() })).resolves.toBe('ran');
  expect(w.tasks.ids()).toEqual([mail!.id]);
});

test('a push recorded while the poll asked: its check is not written and it runs as before, syncing that work', async () => {
  const w = world();
  await w.connect();
  let mail: { id: string; historyId: string } | null = null;
  // After Gmail and the calendar answered, before the poll's write: the push's trigger
  // recorded its work and then failed before it ran, so nobody holds it.
  w.sources.interleave = (store, id) => {
    mail = w.mailbox.deliver('meanwhile');
    store.put(id, { pending: { gmail: mail.historyId, calendar: false, calendars: [] } });
  };
  await expect(w.poll()).resolves.toBe('ran');
  expect(w.tasks.ids()).toEqual([mail!.id]);
  expect((await w.sources.get('s1'))!.historyId).toBe(mail!.historyId);
});

describe('quietPollChecked', () => {
  const now = new Date('2026-12-01T10:00:00Z');
  const derive = statusDerivation(now, DEFAULT_STATUS_SETTINGS);
  const source = { id: 's1', ...sourceData({ calendarSyncToken: 'a' }) };

  test('stores the newer token the empty listing ended with, with the check times', () => {
    const { patch, result } = quietPollChecked({ historyId: '1000', calendars: { primary: { from: 'a', to: 'b' } } }, now, DEFAULT_STATUS_SETTINGS)(source, derive);
    expect(result).toMatchObject({ previous: 'active', source: { calendarSyncToken: 'b' } });
    expect(patch).toMatchObject({ calendarSyncToken: 'b', lastCheckAt: now, calendarCheckedAt: now, calendarsCheckedBy: now });
    expect(patch).not.toHaveProperty('lease');
    expect(patch).not.toHaveProperty('pending');
    expect(patch).not.toHaveProperty('historyId');
  });

  test('writes nothing when the source moved on since the poll asked', () => {
    const find = { historyId: '1000', calendars: { primary: { from: 'a', to: 'b' } } };
    const decide = quietPollChecked(find, now, DEFAULT_STATUS_SETTINGS);
    const moved = [
      { ...source, historyId: '1001' },
      { ...source, calendarSyncToken: 'c' },
      { ...source, lease: { owner: 'run', until: new Date(now.getTime() + LEASE_MS) } },
      { ...source, pending: { gmail: '1001', calendar: false, calendars: [] } },
      { ...source, calendarSelection: ['primary', 'team@example.com'] },
      { ...source, disconnectReason: 'Google access was revoked; reconnect the account' },
    ];
    for (const s of moved) expect(decide(s, derive)).toEqual({ patch: null, result: null });
  });
});
