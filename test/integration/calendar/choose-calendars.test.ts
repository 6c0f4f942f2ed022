import { calendarState } from '../../../functions/src/engine/calendar/state';
import { GONE_REASON, reconcileSourceCalendars, REMOVED_REASON } from '../../../functions/src/engine/calendar/selection';
import { EXCLUDED_REASON } from '../../../functions/src/engine/task-rule';
import { connectAndWatch, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { asUser, idTokenFor } from '../../support/connect';
import { calendarTaskOf, calendarTasksOf, tomorrowSlot } from '../../support/calendar-tasks';
import { waitFor } from '../../support/wait';

/** The owner chooses calendars and event rules through connect /calendars; each change applies at once. */

let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack();
});
afterAll(() => stack.close());

const soon = tomorrowSlot;
const calendarTasks = (userId: string) => calendarTasksOf(stack, userId);
const taskOf = (userId: string, eventId: string) => calendarTaskOf(stack, userId, eventId);
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

describe('the calendar list changing under a choice: its channel pushes, the list is checked at once', () => {
  const reconcile = (sourceId: string) => {
    const s = stack.services;
    return reconcileSourceCalendars({ sources: s.sources, tasks: s.tasks, publisher: s.publisher, watchDeps: s.watchDeps, clock: s.clock }, sourceId);
  };
  const source = async (sourceId: string) => (await stack.services.sources.get(sourceId))!;
  /** The source's calendar list channel, once Google confirmed it. */
  const confirmedListChannel = async (sourceId: string) => {
    const channel = (await source(sourceId)).calendarListChannel;
    expect(channel).not.toBeNull();
    expect(await stack.services.channels.get(channel!.id)).toMatchObject({ sourceId, watches: 'calendarList', resourceId: channel!.resourceId });
    await waitFor(async () => (await stack.services.channels.get(channel!.id))?.confirmedAt);
    return channel!;
  };

  /** The calendar list channel as `sourceStatus` shows the user's one source. */
  const statusOfListChannel = async (user: string) => {
    const response = await fetch(stack.functionUrl('sourceStatus'), { headers: { Authorization: `Bearer ${await idTokenFor(stack, user)}` } });
    const body = (await response.json()) as { sources: { calendarListChannel: unknown }[] };
    return body.sources[0]!.calendarListChannel;
  };

  it('a shared calendar whose access drops to free/busy, then one removed from the list: channel stopped, tasks cancelled with a reason within a push, the others untouched', async () => {
    const [mail, user, sharer] = ['lister@example.com', 'user-lister', 'lister-owner@example.com'];
    await connectAndWatch(stack, 'src-lister', mail, user);
    expect((await source('src-lister')).calendarListChannel).toBeNull();
    await stack.admin.createAccount(sharer);
    const team = (await stack.admin.createCalendar(sharer, 'Team')).id;
    const ops = (await stack.admin.createCalendar(sharer, 'Ops')).id;
    await stack.admin.shareCalendar(team, mail, 'reader');
    await stack.admin.shareCalendar(ops, mail, 'reader');
    expect((await asUser(stack, user, 'calendars', { method: 'POST', body: { sourceId: 'src-lister', selection: ['primary', team, ops] } })).status).toBe(200);
    const listChannel = await confirmedListChannel('src-lister');
    expect(await statusOfListChannel(user)).toEqual({ state: 'ok', channelExpiration: listChannel.expiration.toISOString() });
    await stack.settled('src-lister');
    const onTeam = await stack.admin.createEvent(sharer, { summary: 'team', ...soon(), calendarId: team });
    const onOps = await stack.admin.createEvent(sharer, { summary: 'ops', ...soon(), calendarId: ops });
    const mine = await stack.admin.createEvent(mail, { summary: 'mine', ...soon() });
    await waitFor(async () => (await calendarTasks(user)).length === 3);
    await stack.settled('src-lister');

    // No renewal runs here: the list's push alone gets the change in.
    const teamChannel = calendarState(await source('src-lister'), team).channelId!;
    await stack.admin.shareCalendar(team, mail, 'freeBusyReader');
    await waitFor(async () => (await taskOf(user, onTeam.id))?.status === 'cancelled');
    expect(await taskOf(user, onTeam.id)).toMatchObject({ reason: GONE_REASON });
    expect(await stack.services.channels.get(teamChannel)).toBeNull();
    expect((await taskOf(user, onOps.id))?.status).toBe('open');

    await stack.admin.unshareCalendar(ops, mail);
    await waitFor(async () => (await taskOf(user, onOps.id))?.status === 'cancelled');
    expect(await taskOf(user, onOps.id)).toMatchObject({ reason: GONE_REASON });
    await stack.settled('src-lister');
    expect((await taskOf(user, mine.id))?.status).toBe('open');
    const after = await source('src-lister');
    expect(after.calendarSelection).toEqual(['primary']);
    expect(after.calendars).toEqual({});
    expect(after.status).toBe('active');
    // Only the primary calendar is left, which never leaves the list: its channel is stopped too.
    await waitFor(async () => (await source('src-lister')).calendarListChannel === null);
    expect(await statusOfListChannel(user)).toBeNull();
    expect(await stack.services.channels.get(listChannel.id)).toBeNull();
    expect((await stack.admin.channels()).channels.map((c) => c.id)).not.toContain(listChannel.id);
    expect(await reconcile('src-lister')).toEqual({ removed: [], added: [] });
  });

  it('under `owned`, a calendar the account creates later starts syncing by itself; a forged list push changes nothing; disconnecting stops the list channel', async () => {
    const [mail, user] = ['owner-of-all@example.com', 'user-owner-of-all'];
    await connectAndWatch(stack, 'src-owned', mail, user);
    expect((await asUser(stack, user, 'calendars', { method: 'POST', body: { sourceId: 'src-owned', selection: 'owned' } })).status).toBe(200);
    const listChannel = await confirmedListChannel('src-owned');
    await stack.settled('src-owned');

    const forged = await fetch(stack.functionUrl('calendarPush'), {
      method: 'POST',
      headers: { 'X-Goog-Channel-ID': listChannel.id, 'X-Goog-Resource-ID': listChannel.resourceId, 'X-Goog-Resource-State': 'exists', 'X-Goog-Message-Number': '99', 'X-Goog-Channel-Token': 'forged' },
    });
    expect(forged.status).toBe(403);

    const later = (await stack.admin.createCalendar(mail, 'Later')).id;
    await waitFor(async () => calendarState(await source('src-owned'), later).channelId);
    const channelId = calendarState(await source('src-owned'), later).channelId!;
    await waitFor(async () => (await stack.services.channels.get(channelId))?.confirmedAt);
    await stack.settled('src-owned');
    const event = await stack.admin.createEvent(mail, { summary: 'on the new calendar', ...soon(), calendarId: later });
    await waitFor(async () => (await taskOf(user, event.id))?.status === 'open');
    expect(await taskOf(user, event.id)).toMatchObject({ calendarId: later });
    expect(await reconcile('src-owned')).toEqual({ removed: [], added: [] });
    expect(stack.logLines.some((line) => line.includes('"calendar list checked"') && line.includes('"calendarsAdded":1'))).toBe(true);

    await stack.settled('src-owned');
    expect((await asUser(stack, user, 'disconnect', { method: 'POST', body: { sourceId: 'src-owned' } })).status).toBe(200);
    expect(await stack.services.channels.get(listChannel.id)).toBeNull();
    expect((await stack.admin.channels()).channels.filter((c) => c.email === mail)).toEqual([]);
    expect((await source('src-owned')).calendarListChannel).toBeNull();
    // A disconnected source is answered as on the rule routes: reconnect first.
    const refused = await asUser(stack, user, 'calendars', { method: 'POST', body: { sourceId: 'src-owned', selection: 'primary' } });
    expect([refused.status, await refused.json()]).toEqual([409, { error: 'the source is disconnected: reconnect it first' }]);
    expect((await asUser(stack, user, 'calendars?sourceId=src-owned')).status).toBe(409);
  });
});
