import { renewSourceWatches } from '../../../functions/src/engine/account/renewal';
import { calendarState, EMPTY_CALENDAR_STATE } from '../../../functions/src/engine/calendar/state';
import { connectAndWatch as connectWatched, registerWatch, startEngineStack, type EngineStack } from '../../support/engine-stack';

const HOUR = 3_600_000;
let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack();
});
afterAll(() => stack.close());

async function connectAndWatch(sourceId: string, email: string) {
  const source = await connectWatched(stack, sourceId, email, `user-${sourceId}`);
  // Both due for renewal.
  const soon = new Date(Date.now() + HOUR);
  await stack.services.sources.update(sourceId, new Date(), () => ({ watchExpiration: soon, calendarChannelExpiration: soon }));
  return source;
}

const liveChannelsOf = async (email: string) => (await stack.admin.channels()).channels.filter((c) => c.email === email).map((c) => c.id);

test('renewal: Google answering 404 (Gmail watch) and 410 (Calendar watch) → the watch fields are cleared and both are registered afresh', async () => {
  const email = 'renew-gone@example.com';
  const before = await connectAndWatch('src-renew-gone', email);
  await stack.admin.resetStats();
  await stack.admin.setFaults({
    failNext: [
      { method: 'gmail.users.watch', status: 404, count: 1 },
      { method: 'calendar.events.watch', status: 410, count: 1 },
    ],
  });
  const renewed = await renewSourceWatches(stack.services.watchDeps, 'src-renew-gone', 24 * HOUR);
  await stack.admin.setFaults({});

  expect(renewed).toEqual({ gmail: true, calendar: true });
  const after = (await stack.services.sources.get('src-renew-gone'))!;
  expect(after.watchExpiration!.getTime()).toBeGreaterThan(Date.now() + 6 * 24 * HOUR);
  expect(after.calendarChannelExpiration!.getTime()).toBeGreaterThan(Date.now() + 6 * 24 * HOUR);
  expect(after.calendarChannelId).not.toBe(before.calendarChannelId);
  expect(after.renewalError).toBeNull();
  const { calls, injected } = await stack.admin.stats();
  expect(calls[email]).toMatchObject({ 'gmail.users.watch': 2, 'calendar.events.watch': 2 });
  expect(injected.gone).toBe(2);
  expect(await liveChannelsOf(email)).toEqual([after.calendarChannelId]);
});

test('one watch that cannot be renewed leaves the others renewed, and the failure recorded on the source', async () => {
  const email = 'renew-partial@example.com';
  await connectAndWatch('src-renew-partial', email);
  // More 503s than the limiter's attempts (MAX_ATTEMPTS): the Gmail watch stays unrenewed.
  await stack.admin.setFaults({ failNext: [{ method: 'gmail.users.watch', status: 503, count: stack.services.config.limiter.maxAttempts }] });
  const renewed = await renewSourceWatches(stack.services.watchDeps, 'src-renew-partial', 24 * HOUR);
  await stack.admin.setFaults({});

  expect(renewed).toEqual({ gmail: false, calendar: true });
  const after = (await stack.services.sources.get('src-renew-partial'))!;
  expect(after.calendarChannelExpiration!.getTime()).toBeGreaterThan(Date.now() + 6 * 24 * HOUR);
  expect(after.watchExpiration!.getTime()).toBeLessThan(Date.now() + 2 * HOUR);
  expect(after.renewalError).toEqual(expect.any(String));
});

test('two concurrent renewals leave exactly one live channel: the one replaced is read when the new one is stored', async () => {
  const email = 'renew-race@example.com';
  await connectAndWatch('src-renew-race', email);
  // Slow Google down so that both renewals are inside events.watch at the same time.
  await stack.admin.setFaults({ latencyMs: 150 });
  await Promise.all([
    renewSourceWatches(stack.services.watchDeps, 'src-renew-race', 24 * HOUR),
    renewSourceWatches(stack.services.watchDeps, 'src-renew-race', 24 * HOUR),
  ]);
  await stack.admin.setFaults({});
  const stored = (await stack.services.sources.get('src-renew-race'))!;
  expect(await liveChannelsOf(email)).toEqual([stored.calendarChannelId]);
});

test('the calendar list\'s channel: opened at renewal for a choice made before the list was watched, renewed when due (the old one stopped), a failure naming it, stopped once only the primary calendar syncs', async () => {
  const email = 'renew-list@example.com';
  await connectAndWatch('src-renew-list', email);
  const work = (await stack.admin.createCalendar(email, 'Work')).id;
  // As a version that re-read the list only at renewal left it: owned, no list channel.
  await stack.services.sources.update('src-renew-list', new Date(), () => ({ calendarSelection: 'owned', calendars: { [work]: EMPTY_CALENDAR_STATE } }));
  await renewSourceWatches(stack.services.watchDeps, 'src-renew-list', 24 * HOUR);
  const first = (await stack.services.sources.get('src-renew-list'))!;
  expect(first.calendarListChannel).not.toBeNull();
  expect(first.otherCalendarsRenewBy!.getTime()).toBeGreaterThan(Date.now() + 6 * 24 * HOUR);
  expect((await liveChannelsOf(email)).sort()).toEqual([first.calendarChannelId, calendarState(first, work).channelId, first.calendarListChannel!.id].sort());

  // Not due: left alone. Due: replaced, the old one stopped at Google.
  expect(await renewSourceWatches(stack.services.watchDeps, 'src-renew-list', 24 * HOUR)).toEqual({ gmail: false, calendar: false });
  await stack.admin.setFaults({ failNext: [{ method: 'calendar.calendarList.watch', status: 404, count: 1 }] });
  await renewSourceWatches(stack.services.watchDeps, 'src-renew-list', 8 * 24 * HOUR);
  expect((await stack.services.sources.get('src-renew-list'))!.renewalError).toContain('(calendar list)');
  await renewSourceWatches(stack.services.watchDeps, 'src-renew-list', 8 * 24 * HOUR);
  const second = (await stack.services.sources.get('src-renew-list'))!;
  expect(second.renewalError).toBeNull();
  expect(second.calendarListChannel!.id).not.toBe(first.calendarListChannel!.id);
  expect(await liveChannelsOf(email)).not.toContain(first.calendarListChannel!.id);
  expect(await liveChannelsOf(email)).toContain(second.calendarListChannel!.id);

  // Registering the watches again (registerWatch, a reconnect) replaces it like the calendars' channels.
  expect((await registerWatch(stack, 'src-renew-list')).status).toBe(200);
  const third = (await stack.services.sources.get('src-renew-list'))!;
  expect(third.calendarListChannel!.id).not.toBe(second.calendarListChannel!.id);
  expect(await liveChannelsOf(email)).not.toContain(second.calendarListChannel!.id);

  await stack.services.sources.update('src-renew-list', new Date(), () => ({ calendarSelection: 'primary' }));
  await renewSourceWatches(stack.services.watchDeps, 'src-renew-list', 24 * HOUR);
  expect((await stack.services.sources.get('src-renew-list'))!.calendarListChannel).toBeNull();
  expect(await liveChannelsOf(email)).not.toContain(third.calendarListChannel!.id);
  expect(await stack.services.channels.get(third.calendarListChannel!.id)).toBeNull();
});
