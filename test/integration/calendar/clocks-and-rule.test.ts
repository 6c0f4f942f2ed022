import { MovableClock } from '../../support/clock';
import { connectAndWatch as connectWatched, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { waitFor } from '../../support/wait';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const clock = new MovableClock();
let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack({ overrides: { clock } });
  // Google's clock runs two hours ahead of ours for this whole file.
  await stack.admin.advanceClock(2 * HOUR);
});
afterAll(() => stack.close());

const at = (ms: number) => ({ dateTime: new Date(ms).toISOString() });
const calendarTasks = async (userId: string) =>
  (await stack.db.collection(`users/${userId}/tasks`).where('origin', '==', 'calendar').get()).docs.map((d) => ({
    eventId: d.id.split(':')[2]!,
    ...(d.data() as { title: string; status: string }),
  }));
const statusOf = async (userId: string, eventId: string) => (await calendarTasks(userId)).find((t) => t.eventId === eventId)?.status;

async function connectAndWatch(sourceId: string, email: string, userId: string) {
  await connectWatched(stack, sourceId, email, userId);
  await stack.settled(sourceId);
}

test('Google two hours ahead: a cancellation closes the task, and an event deleted then restored (Undo) is open again', async () => {
  const email = 'skew@example.com';
  await connectAndWatch('src-skew', email, 'user-skew');
  const start = clock.now().getTime() + DAY;
  const event = await stack.admin.createEvent(email, { summary: 'skewed', start: at(start), end: at(start + HOUR) });
  await waitFor(async () => (await statusOf('user-skew', event.id)) === 'open');

  await stack.admin.cancelEvent(email, event.id);
  await waitFor(async () => (await statusOf('user-skew', event.id)) === 'cancelled');
  await stack.admin.restoreEvent(email, event.id);
  await waitFor(async () => (await statusOf('user-skew', event.id)) === 'open');
  await stack.settled('src-skew');
});

test('Google two hours ahead: the 410 full sync cancels a task whose event was deleted in the gap', async () => {
  const email = 'skew-410@example.com';
  await connectAndWatch('src-skew-410', email, 'user-skew-410');
  const start = clock.now().getTime() + DAY;
  const events = [];
  for (let i = 0; i < 2; i += 1) events.push(await stack.admin.createEvent(email, { summary: `e${i}`, start: at(start), end: at(start + HOUR) }));
  await waitFor(async () => (await calendarTasks('user-skew-410')).length === 2);
  await stack.settled('src-skew-410');

  await stack.admin.setFaults({ push: { dropRate: 1 } });
  await stack.admin.cancelEvent(email, events[0]!.id);
  await stack.admin.invalidateSyncTokens(email);
  await stack.admin.setFaults({});
  await stack.admin.updateEvent(email, events[1]!.id, { summary: 'e1 renamed' });
  await waitFor(async () => (await calendarTasks('user-skew-410')).some((t) => t.title === 'e1 renamed'));
  await stack.settled('src-skew-410');
  expect(await statusOf('user-skew-410', events[0]!.id)).toBe('cancelled');
});

test('the rule: an endless daily series gives tasks only inside now − 7 days … now + 30 days; a cancelled instance and a declined invitation cancel their tasks', async () => {
  const email = 'rule@example.com';
  const userId = 'user-rule';
  await connectAndWatch('src-rule', email, userId);
  // Instances at half past a day boundary relative to now: none sits on the window's edges.
  const first = clock.now().getTime() - 10 * DAY + 12 * HOUR;
  const series = await stack.admin.createEvent(email, { summary: 'daily', start: at(first), end: at(first + HOUR), recurrence: ['RRULE:FREQ=DAILY'] });
  const invite = await stack.admin.createEvent(email, { summary: 'invite', start: at(first + 11 * DAY), end: at(first + 11 * DAY + HOUR), attendees: [{ email }] });
  await waitFor(async () => (await calendarTasks(userId)).some((t) => t.eventId === invite.id));
  await stack.settled('src-rule');

  const now = clock.now().getTime();
  const expected = Array.from({ length: 400 }, (_, i) => first + i * DAY).filter((s) => s >= now - 7 * DAY && s < now + 30 * DAY);
  expect(expected).toHaveLength(37);
  const instances = (await calendarTasks(userId)).filter((t) => t.eventId.startsWith(`${series.id}_`));
  expect(instances).toHaveLength(37);
  expect(instances.every((t) => t.status === 'open' && t.title === 'daily')).toBe(true);

  const tomorrow = instances.map((t) => t.eventId).sort()[8]!;
  await stack.admin.cancelEvent(email, tomorrow);
  await stack.admin.respondToEvent(email, invite.id, 'declined');
  await waitFor(async () => (await statusOf(userId, tomorrow)) === 'cancelled' && (await statusOf(userId, invite.id)) === 'cancelled');
  await stack.settled('src-rule');
  expect((await calendarTasks(userId)).filter((t) => t.status === 'open')).toHaveLength(36);
});

test('after a 410, a task whose event started 8 days ago (outside the full sync’s window) and was deleted in the gap is cancelled', async () => {
  const email = 'old@example.com';
  const userId = 'user-old';
  await connectAndWatch('src-old', email, userId);
  const start = clock.now().getTime() - 6 * DAY;
  const old = await stack.admin.createEvent(email, { summary: 'six days ago', start: at(start), end: at(start + HOUR) });
  await waitFor(async () => (await statusOf(userId, old.id)) === 'open');
  await stack.settled('src-old');

  // Two days pass on both clocks while pushes are lost: the event now started 8 days ago.
  await stack.admin.setFaults({ push: { dropRate: 1 } });
  await stack.admin.cancelEvent(email, old.id);
  await stack.admin.invalidateSyncTokens(email);
  clock.advance(2 * DAY);
  await stack.admin.advanceClock(2 * DAY);
  await stack.admin.setFaults({});
  const next = await stack.admin.createEvent(email, { summary: 'wakes the sync', start: at(clock.now().getTime() + DAY), end: at(clock.now().getTime() + DAY + HOUR) });
  await waitFor(async () => (await statusOf(userId, next.id)) === 'open');
  await stack.settled('src-old');
  expect(await statusOf(userId, old.id)).toBe('cancelled');
});

test('an event beyond the window becomes a task once time brings it inside, though nobody changed it', async () => {
  const email = 'horizon@example.com';
  const userId = 'user-horizon';
  await connectAndWatch('src-horizon', email, userId);
  const far = await stack.admin.createEvent(email, { summary: 'in five weeks', start: at(clock.now().getTime() + 35 * DAY), end: at(clock.now().getTime() + 35 * DAY + HOUR) });
  const near = await stack.admin.createEvent(email, { summary: 'tomorrow', start: at(clock.now().getTime() + DAY), end: at(clock.now().getTime() + DAY + HOUR) });
  await waitFor(async () => (await statusOf(userId, near.id)) === 'open');
  await stack.settled('src-horizon');
  expect(await statusOf(userId, far.id)).toBeUndefined();

  // Six days on, the event is 29 days ahead: inside the window. Any sync brings it in.
  clock.advance(6 * DAY);
  const nudge = await stack.admin.createEvent(email, { summary: 'nudge', start: at(clock.now().getTime() + DAY), end: at(clock.now().getTime() + DAY + HOUR) });
  await waitFor(async () => (await statusOf(userId, nudge.id)) === 'open');
  await stack.settled('src-horizon');
  expect(await statusOf(userId, far.id)).toBe('open');
});
