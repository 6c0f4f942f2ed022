import type { CalendarLook, FollowUpScheduler, LookFrom } from '../../../functions/src/engine/runner/follow-up';
import { followUpBody } from '../../../functions/src/tasks/follow-up-queue';
import { connectAndWatch, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { waitFor } from '../../support/wait';

/**
 * Calendar read-after-push lag: the channel message reaches calendarPush before `events.list`
 * serves the event. The sync token the lagging listing returns stops before the change, so
 * nothing is skipped; the push's pass that listed nothing asks for a look at that calendar a
 * little later (1 s, 2 s, 4 s), which lists it once it is served. The looks are held here and
 * delivered to gmailFollowUp by the test after it moves the sandbox clock, so nothing races
 * real time: the lags are a minute long and more, the clock moves in explicit steps.
 */

const DAY = 86_400_000;
/** Sandbox time: the event stays unserved past the first retry and is served by the second. */
const LAG_MS = 60_000;

/** Cloud Tasks, as the test drives it: every look is kept until the test delivers it. */
class HeldLooks implements FollowUpScheduler {
  readonly held: { sourceId: string; from: LookFrom | null; calendar: CalendarLook | undefined }[] = [];
  schedule(sourceId: string, _at: Date, from: LookFrom | null, calendar?: CalendarLook): Promise<'scheduled'> {
    this.held.push({ sourceId, from, calendar });
    return Promise.resolve('scheduled');
  }
  /** Delivers the Calendar looks held so far to gmailFollowUp, in order; the Gmail ones are dropped. */
  async deliverCalendarLooks(stack: EngineStack): Promise<number> {
    const due = this.held.splice(0).filter((look) => look.calendar !== undefined);
    for (const look of due) {
      const response = await fetch(stack.functionUrl('gmailFollowUp'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(followUpBody(look.sourceId, look.from, look.calendar)),
      });
      expect(response.status).toBe(204);
    }
    return due.length;
  }
  calendarRetries(): number[] {
    return this.held.flatMap((look) => (look.calendar === undefined ? [] : [look.calendar.retry]));
  }
}

const looks = new HeldLooks();
let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack({ overrides: { followUps: looks } });
});
afterAll(() => stack.close());
afterEach(() => stack.admin.clearLag());

const calendarTaskIds = async (userId: string) =>
  (await stack.db.collection(`users/${userId}/tasks`).where('origin', '==', 'calendar').get()).docs.map((d) => d.id);
const listed = async (email: string) => (await stack.admin.stats()).calls[email]?.['calendar.events.list'] ?? 0;
/** A connected source whose calendar has been listed once: it holds a sync token. */
async function listedOnce(sourceId: string, email: string, userId: string): Promise<void> {
  await connectAndWatch(stack, sourceId, email, userId);
  expect(await stack.services.runner.handle(sourceId, { gmail: null, calendar: true }, { trigger: 'manual' })).toBe('ran');
  await stack.settled(sourceId);
  looks.held.length = 0;
}
const tomorrow = () => {
  const start = Date.now() + DAY;
  return { start: { dateTime: new Date(start).toISOString() }, end: { dateTime: new Date(start + 3_600_000).toISOString() } };
};

test('events.list empty after the push: the event becomes a task at the second retry look, which ends the chain', async () => {
  const email = 'calendar-lag-retry@example.com';
  await listedOnce('src-cal-retry', email, 'user-cal-retry');
  await stack.admin.setLag({ account: email, api: 'calendar', fixedMs: LAG_MS });
  const before = await listed(email);
  const event = await stack.admin.createEvent(email, { summary: 'lagging', ...tomorrow() });
  // The push arrived and its pass listed: the event was not served yet, a look is due.
  await waitFor(async () => (await listed(email)) > before);
  await stack.settled('src-cal-retry');
  expect(await calendarTaskIds('user-cal-retry')).toEqual([]);
  expect(looks.calendarRetries()).toEqual([1]);

  // Half the lag on: still not served; the look asks for the next one.
  await stack.admin.advanceClock(LAG_MS / 2);
  expect(await looks.deliverCalendarLooks(stack)).toBe(1);
  expect(await calendarTaskIds('user-cal-retry')).toEqual([]);
  expect(looks.calendarRetries()).toEqual([2]);

  // Past the lag: the look lists it, and asks for no other.
  await stack.admin.advanceClock(LAG_MS / 2);
  expect(await looks.deliverCalendarLooks(stack)).toBe(1);
  expect(await calendarTaskIds('user-cal-retry')).toEqual([`src-cal-retry:calendar:${event.id}`]);
  expect(looks.calendarRetries()).toEqual([]);
});

test('without lag a push costs one events.list and asks for no look', async () => {
  const email = 'calendar-no-lag@example.com';
  await listedOnce('src-cal-nolag', email, 'user-cal-nolag');
  const before = await listed(email);
  const event = await stack.admin.createEvent(email, { summary: 'at once', ...tomorrow() });
  await waitFor(async () => (await calendarTaskIds('user-cal-nolag')).includes(`src-cal-nolag:calendar:${event.id}`));
  await stack.admin.drainPushes();
  await stack.settled('src-cal-nolag');
  expect((await listed(email)) - before).toBe(1);
  expect(looks.calendarRetries()).toEqual([]);
});

test('a lag longer than the retries: the looks stop after the last one, and the next listing finds the event', async () => {
  const email = 'calendar-long-lag@example.com';
  await listedOnce('src-cal-lag', email, 'user-cal-lag');
  await stack.admin.setLag({ account: email, api: 'calendar', fixedMs: 10 * LAG_MS });
  const event = await stack.admin.createEvent(email, { summary: 'lagging long', ...tomorrow() });
  await waitFor(() => Promise.resolve(looks.calendarRetries().length > 0));
  await stack.settled('src-cal-lag');
  for (let retry = 1; retry <= 3; retry += 1) {
    expect(looks.calendarRetries()).toEqual([retry]);
    await looks.deliverCalendarLooks(stack);
  }
  expect(looks.calendarRetries()).toEqual([]);
  expect(await calendarTaskIds('user-cal-lag')).toEqual([]);

  await stack.admin.advanceClock(10 * LAG_MS);
  await stack.admin.clearLag();
  // The next listing (here a poll's) starts from the token the lagging listings returned.
  expect(await stack.services.runner.handle('src-cal-lag', { gmail: null, calendar: true }, { trigger: 'poll' })).toBe('ran');
  expect(await calendarTaskIds('user-cal-lag')).toEqual([`src-cal-lag:calendar:${event.id}`]);
});
