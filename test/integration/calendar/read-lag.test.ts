import { connectAndWatch, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { waitFor } from '../../support/wait';

/**
 * Calendar read-after-push lag: the channel message reaches calendarPush before `events.list`
 * serves the event. The sync token the lagging listing returns stops before the change, so
 * the next incremental listing (the next push, or the fallback poll) lists it: nothing lost,
 * no retry needed. The lag is a minute long and the sandbox clock is advanced explicitly.
 */

const LAG_MS = 60_000;
const DAY = 86_400_000;
let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack({ overrides: { followUps: null } });
});
afterAll(() => stack.close());

const calendarTaskIds = async (userId: string) =>
  (await stack.db.collection(`users/${userId}/tasks`).where('origin', '==', 'calendar').get()).docs.map((d) => d.id);

test('an event pushed before events.list serves it becomes a task at the next listing, after the lag', async () => {
  const email = 'calendar-lag@example.com';
  await connectAndWatch(stack, 'src-cal-lag', email, 'user-cal-lag');
  await stack.settled('src-cal-lag');
  await stack.admin.setLag({ account: email, api: 'calendar', fixedMs: LAG_MS });
  const listed = async () => (await stack.admin.stats()).calls[email]?.['calendar.events.list'] ?? 0;
  const before = await listed();
  const start = Date.now() + DAY;
  const event = await stack.admin.createEvent(email, { summary: 'lagging', start: { dateTime: new Date(start).toISOString() }, end: { dateTime: new Date(start + 3_600_000).toISOString() } });
  // The push arrived and its pass listed: the event was not served yet.
  await waitFor(async () => (await listed()) > before);
  await stack.settled('src-cal-lag');
  expect(await calendarTaskIds('user-cal-lag')).toEqual([]);
  expect((await stack.admin.stats()).lagged.calendar).toBeGreaterThan(0);

  await stack.admin.advanceClock(LAG_MS);
  await stack.admin.clearLag();
  // The next listing (here a poll's) starts from the token the lagging listing returned.
  expect(await stack.services.runner.handle('src-cal-lag', { gmail: null, calendar: true }, { trigger: 'poll' })).toBe('ran');
  expect(await calendarTaskIds('user-cal-lag')).toEqual([`src-cal-lag:calendar:${event.id}`]);
});
