import { calendarState } from '../../../functions/src/engine/calendar/state';
import { REMOVED_REASON } from '../../../functions/src/engine/calendar/selection';
import { EXCLUDED_REASON } from '../../../functions/src/engine/task-rule';
import { connectAndWatch, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { asUser } from '../../support/connect';
import { waitFor } from '../../support/wait';

/** The owner chooses calendars and event rules through connect /calendars; each change applies at once. */

let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack();
});
afterAll(() => stack.close());

const at = (iso: string) => ({ dateTime: iso });
const soon = () => ({ start: at(new Date(Date.now() + 86_400_000).toISOString()), end: at(new Date(Date.now() + 90_000_000).toISOString()) });
type StoredTask = { id: string; externalId: string; title: string; status: string; calendarId?: string; reason?: string };
const calendarTasks = async (userId: string): Promise<StoredTask[]> =>
  (await stack.db.collection(`users/${userId}/tasks`).where('origin', '==', 'calendar').get()).docs.map((d) => ({ id: d.id, ...(d.data() as Omit<StoredTask, 'id'>) }));
const taskOf = async (userId: string, eventId: string) => (await calendarTasks(userId)).find((t) => t.externalId === eventId);
const email = 'chooser@example.com';
const owner = 'chooser-team@example.com';
const userId = 'user-chooser';

describe('choosing calendars and event rules', () => {
  it('lists the calendars, refuses bad choices naming each problem, applies good ones at once, with no effect on the other calendars', async () => {
    await connectAndWatch(stack, 'src-chooser', email, userId);
    await stack.admin.createAccount(owner);
    const work = (await stack.admin.createCalendar(email, 'Work')).id;
    const team = (await stack.admin.createCalendar(owner, 'Team')).id;
    const busy = (await stack.admin.createCalendar(owner, 'Busy')).id;
    await stack.admin.shareCalendar(team, email, 'reader');
    await stack.admin.shareCalendar(busy, email, 'freeBusyReader');

    const listed = await asUser(stack, userId, 'calendars?sourceId=src-chooser');
    expect(listed.status).toBe(200);
    const body = (await listed.json()) as { selection: unknown; eventRules: { excludedTypes: string[] }; calendars: { id: string; accessRole: string; primary: boolean }[] };
    expect(body.selection).toBe('primary');
    expect(body.eventRules.excludedTypes).toEqual(['birthday', 'workingLocation', 'fromGmail']);
    expect(body.calendars.map((c) => [c.id, c.accessRole, c.primary])).toEqual([[email, 'owner', true], [work, 'owner', false], [team, 'reader', false], [busy, 'freeBusyReader', false]]);

    const before = (await stack.db.doc('sources/src-chooser').get()).data();
    const bad = await asUser(stack, userId, 'calendars', { method: 'POST', body: { sourceId: 'src-chooser', selection: ['primary', 'nobody@group.calendar.google.com', busy], eventRules: { excludedTypes: ['birthday', 'standup'] } } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { problems: string[] }).problems).toEqual([
      'calendar nobody@group.calendar.google.com: not in the account\'s calendar list',
      `calendar ${busy}: free/busy access only, its events cannot be read`,
      'event type standup: unknown (one of birthday, workingLocation, fromGmail, outOfOffice, focusTime)',
    ]);
    const tooMany = await asUser(stack, userId, 'calendars', { method: 'POST', body: { sourceId: 'src-chooser', selection: Array.from({ length: 26 }, () => work) } });
    expect(((await tooMany.json()) as { problems: string[] }).problems[0]).toBe('at most 25 calendars can be chosen (got 26)');
    expect((await asUser(stack, 'someone-else', 'calendars', { method: 'POST', body: { sourceId: 'src-chooser', selection: 'owned' } })).status).toBe(404);
    expect((await asUser(stack, 'someone-else', 'calendars?sourceId=src-chooser')).status).toBe(404);
    expect((await stack.db.doc('sources/src-chooser').get()).data()).toEqual(before);

    // Three calendars, chosen by their ids (the primary one by its address).
    const chose = await asUser(stack, userId, 'calendars', { method: 'POST', body: { sourceId: 'src-chooser', selection: [email, work, team] } });
    expect(chose.status).toBe(200);
    const chosen = (await stack.services.sources.get('src-chooser'))!;
    expect(chosen.calendarSelection).toEqual(['primary', work, team]);
    for (const calendarId of [work, team]) expect(calendarState(chosen, calendarId).channelId).not.toBeNull();
    await stack.settled('src-chooser');

    const focus = await stack.admin.createEvent(email, { summary: 'deep work', ...soon(), eventType: 'focusTime' });
    const birthday = await stack.admin.createEvent(email, { summary: 'a birthday', ...soon(), eventType: 'birthday' });
    const onWork = await stack.admin.createEvent(email, { summary: 'work item', ...soon(), calendarId: work });
    const onTeam = await stack.admin.createEvent(owner, { summary: 'team item', ...soon(), calendarId: team });
    await waitFor(async () => (await calendarTasks(userId)).length === 3);
    await stack.settled('src-chooser');
    expect(await taskOf(userId, birthday.id)).toBeUndefined();
    expect((await taskOf(userId, focus.id))?.status).toBe('open');

    // A rule change: focus time left out too. Its task is cancelled with the reason; the rest stay.
    const rules = await asUser(stack, userId, 'calendars', { method: 'POST', body: { sourceId: 'src-chooser', selection: ['primary', work, team], eventRules: { excludedTypes: ['birthday', 'workingLocation', 'fromGmail', 'focusTime'] } } });
    expect(rules.status).toBe(200);
    await waitFor(async () => (await taskOf(userId, focus.id))?.status === 'cancelled');
    await stack.settled('src-chooser');
    expect(await taskOf(userId, focus.id)).toMatchObject({ reason: EXCLUDED_REASON });
    expect((await taskOf(userId, onWork.id))?.status).toBe('open');
    expect((await taskOf(userId, onTeam.id))?.status).toBe('open');

    // The team calendar left out: its channel stopped, its task cancelled (kept), the others untouched.
    const teamChannel = calendarState((await stack.services.sources.get('src-chooser'))!, team).channelId!;
    const removed = await asUser(stack, userId, 'calendars', { method: 'POST', body: { sourceId: 'src-chooser', selection: ['primary', work] } });
    expect(removed.status).toBe(200);
    expect(await taskOf(userId, onTeam.id)).toMatchObject({ status: 'cancelled', reason: REMOVED_REASON });
    expect(await stack.services.channels.get(teamChannel)).toBeNull();
    await stack.settled('src-chooser');
    expect((await taskOf(userId, onWork.id))?.status).toBe('open');
    const after = (await stack.services.sources.get('src-chooser'))!;
    expect(Object.keys(after.calendars)).toEqual([work]);
    expect(after.status).toBe('active');
  });
});
