import { sourceStatusView } from '../../../functions/src/engine/source/source-status';
import { calendarState } from '../../../functions/src/engine/calendar/state';
import { registerWatch, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { calendarTaskOf, calendarTasksOf, tomorrowSlot } from '../../support/calendar-tasks';
import { waitFor } from '../../support/wait';

/**
 * Three calendars on one source (the primary one, a second one the account owns, one shared
 * with it read-only): each has its own channel, token and recovery, and a change on one costs
 * Google calls for that one only.
 */

let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack();
});
afterAll(() => stack.close());

const calendarTasks = (userId: string) => calendarTasksOf(stack, userId);
const taskOf = (userId: string, eventId: string) => calendarTaskOf(stack, userId, eventId);

/** A source on `email` syncing its primary calendar, a second owned one and one `owner` shares with it as reader. */
async function threeCalendars(sourceId: string, email: string, userId: string, owner: string) {
  await stack.connect(sourceId, email, userId);
  await stack.admin.createAccount(owner);
  const work = await stack.admin.createCalendar(email, 'Work');
  const team = await stack.admin.createCalendar(owner, 'Team');
  await stack.admin.shareCalendar(team.id, email, 'reader');
  await stack.services.sources.update(sourceId, new Date(), () => ({ calendarSelection: ['primary', work.id, team.id] }));
  expect((await registerWatch(stack, sourceId)).status).toBe(200);
  const source = (await stack.services.sources.get(sourceId))!;
  for (const calendarId of ['primary', work.id, team.id]) {
    const channelId = calendarState(source, calendarId).channelId!;
    await waitFor(async () => (await stack.services.channels.get(channelId))?.confirmedAt);
  }
  return { work: work.id, team: team.id };
}

describe('several calendars on one source', () => {
  it('each calendar\'s changes reach tasks through its own channel; one push costs one events.list', async () => {
    const [email, userId] = ['three@example.com', 'user-three'];
    const { work, team } = await threeCalendars('src-three', email, userId, 'team-owner@example.com');
    const source = (await stack.services.sources.get('src-three'))!;
    expect(source.status).toBe('active');
    const channelIds = ['primary', work, team].map((id) => calendarState(source, id).channelId);
    expect(new Set(channelIds).size).toBe(3);
    expect(sourceStatusView(source, new Date(), stack.services.statusSettings).calendars.map((c) => [c.calendarId, c.state])).toEqual([
      ['primary', 'ok'],
      [work, 'ok'],
      [team, 'ok'],
    ]);

    const mine = await stack.admin.createEvent(email, { summary: 'primary event', ...tomorrowSlot() });
    const theirs = await stack.admin.createEvent(email, { summary: 'work event', ...tomorrowSlot(), calendarId: work });
    const shared = await stack.admin.createEvent('team-owner@example.com', { summary: 'team event', ...tomorrowSlot(), calendarId: team });
    await waitFor(async () => (await calendarTasks(userId)).length === 3);
    await stack.settled('src-three');
    expect(await taskOf(userId, mine.id)).toMatchObject({ id: `src-three:calendar:${mine.id}`, title: 'primary event', calendarId: 'primary' });
    expect(await taskOf(userId, theirs.id)).toMatchObject({ id: `src-three:calendar:${encodeURIComponent(work)}:${theirs.id}`, calendarId: work });
    expect(await taskOf(userId, shared.id)).toMatchObject({ id: `src-three:calendar:${encodeURIComponent(team)}:${shared.id}`, calendarId: team, status: 'open' });

    await stack.admin.resetStats();
    await stack.admin.updateEvent('team-owner@example.com', shared.id, { summary: 'team event (moved)' }, team);
    await waitFor(async () => (await taskOf(userId, shared.id))?.title === 'team event (moved)');
    await stack.admin.drainPushes();
    await stack.settled('src-three');
    expect((await stack.admin.stats()).calls[email]?.['calendar.events.list']).toBe(1);

    await stack.admin.cancelEvent(email, theirs.id, work);
    await waitFor(async () => (await taskOf(userId, theirs.id))?.status === 'cancelled');
    expect((await taskOf(userId, mine.id))?.status).toBe('open');
    expect((await taskOf(userId, shared.id))?.status).toBe('open');
  });

  it('a 410 on one calendar: its full sync and sweep, the other calendars\' tokens untouched', async () => {
    const [email, userId] = ['gone-one@example.com', 'user-gone-one'];
    const { work, team } = await threeCalendars('src-gone-one', email, userId, 'gone-owner@example.com');
    const kept = await stack.admin.createEvent(email, { summary: 'kept', ...tomorrowSlot(), calendarId: work });
    const deleted = await stack.admin.createEvent(email, { summary: 'deleted in the gap', ...tomorrowSlot(), calendarId: work });
    const other = await stack.admin.createEvent(email, { summary: 'primary', ...tomorrowSlot() });
    await waitFor(async () => (await calendarTasks(userId)).length === 3);
    await stack.settled('src-gone-one');
    const before = (await stack.services.sources.get('src-gone-one'))!;

    await stack.admin.setFaults({ push: { dropRate: 1 } });
    await stack.admin.cancelEvent(email, deleted.id, work);
    await stack.admin.invalidateSyncTokens(email, work);
    await stack.admin.setFaults({});
    await stack.admin.updateEvent(email, kept.id, { summary: 'kept (renamed)' }, work);
    await waitFor(async () => (await taskOf(userId, deleted.id))?.status === 'cancelled');
    await stack.settled('src-gone-one');

    const after = (await stack.services.sources.get('src-gone-one'))!;
    expect(await taskOf(userId, kept.id)).toMatchObject({ title: 'kept (renamed)', status: 'open' });
    expect((await taskOf(userId, other.id))?.status).toBe('open');
    expect(calendarState(after, work).syncToken).not.toBe(calendarState(before, work).syncToken);
    expect(calendarState(after, 'primary').syncToken).toBe(calendarState(before, 'primary').syncToken);
    expect(calendarState(after, team).syncToken).toBe(calendarState(before, team).syncToken);
    expect(await calendarTasks(userId)).toHaveLength(3);
    expect(after.status).toBe('active');
  });

  it('a shared calendar that refuses the account (403 forbidden) fails alone: the calendar after it is synced in the same run', async () => {
    const [email, userId, owner] = ['refused-one@example.com', 'user-refused-one', 'refused-owner@example.com'];
    const { work, team } = await threeCalendars('src-refused-one', email, userId, owner);
    // The shared calendar listed before the owned one.
    await stack.services.sources.update('src-refused-one', new Date(), () => ({ calendarSelection: ['primary', team, work] }));
    await stack.settled('src-refused-one');
    await stack.admin.setFaults({ push: { dropRate: 1 } });
    const shared = await stack.admin.createEvent(owner, { summary: 'team event', ...tomorrowSlot(), calendarId: team });
    const mine = await stack.admin.createEvent(email, { summary: 'work event', ...tomorrowSlot(), calendarId: work });
    await stack.admin.drainPushes();
    await stack.admin.setFaults({ failNext: [{ method: 'calendar.events.list', account: email, calendarId: team, status: 403, reason: 'forbidden', count: 1 }] });

    await expect(stack.services.runner.handle('src-refused-one', { gmail: null, calendar: true }, { trigger: 'poll' })).resolves.toBe('ran');
    expect(await taskOf(userId, mine.id)).toMatchObject({ title: 'work event', status: 'open' });
    expect(await taskOf(userId, shared.id)).toBeUndefined();
    const refused = (await stack.services.sources.get('src-refused-one'))!;
    expect([calendarState(refused, team).syncErrors, calendarState(refused, work).syncErrors]).toEqual([1, 0]);
    // Not disconnected (the poll that found changes no push announced degrades it, as any such poll does).
    expect(refused).toMatchObject({ status: 'degraded', statusReason: 'A poll found changes that no push announced', disconnectReason: null, consecutiveErrors: 0 });

    // Access back: the next poll lists the shared calendar, and its count starts again.
    await stack.services.runner.handle('src-refused-one', { gmail: null, calendar: true }, { trigger: 'poll' });
    expect(await taskOf(userId, shared.id)).toMatchObject({ title: 'team event', status: 'open' });
    expect(calendarState((await stack.services.sources.get('src-refused-one'))!, team).syncErrors).toBe(0);
  });
});
