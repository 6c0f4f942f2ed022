import type { CreatedAccount } from '../../../sandbox/src/admin-client';
import { classifyGoogleError } from '../../../functions/src/google/classify';
import { refusesOnlyItsCalendar } from '../../../functions/src/engine/source/pass-outcome';
import { failure, officialClients } from '../../support/google-clients';
import { useSandbox } from '../../support/sandbox-fixture';
import { startRecorder } from '../../support/http-recorder';
import { waitFor } from '../../support/wait';

/** Several calendars per account: the calendar list, shared calendars and roles, event types, reminders. */

const ada = 'ada@example.com';
const grace = 'grace@example.com';
let adaAccount: CreatedAccount;
let clients: ReturnType<typeof officialClients>;
const at = (iso: string) => ({ dateTime: iso });
const hour = (day: number) => ({ start: at(`2026-12-${String(day).padStart(2, '0')}T10:00:00Z`), end: at(`2026-12-${String(day).padStart(2, '0')}T11:00:00Z`) });

const running = useSandbox();
beforeEach(async () => {
  await running.admin.reset();
  adaAccount = await running.admin.createAccount(ada);
  clients = officialClients(running.sandbox.url, adaAccount);
  await running.admin.createAccount(grace);
});

/** Ada owns a second calendar; Grace shares one with her as reader and one as free/busy only. */
async function threeMore() {
  const work = await running.admin.createCalendar(ada, 'Work');
  const team = await running.admin.createCalendar(grace, 'Team');
  const busy = await running.admin.createCalendar(grace, 'Grace busy');
  await running.admin.shareCalendar(team.id, ada, 'reader');
  await running.admin.shareCalendar(busy.id, ada, 'freeBusyReader');
  return { work, team, busy };
}

describe('calendarList.list', () => {
  it('lists the primary calendar, owned and shared ones with their access roles; minAccessRole filters; pages', async () => {
    const { work, team, busy } = await threeMore();
    const { data } = await clients.calendar.calendarList.list();
    expect(data.items!.map((e) => [e.id, e.summary, e.accessRole, e.primary ?? false])).toEqual([
      [ada, ada, 'owner', true],
      [work.id, 'Work', 'owner', false],
      [team.id, 'Team', 'reader', false],
      [busy.id, 'Grace busy', 'freeBusyReader', false],
    ]);
    expect(work.id).toMatch(/@group\.calendar\.google\.com$/);
    expect(data.items![0]).toMatchObject({ kind: 'calendar#calendarListEntry', timeZone: 'UTC', defaultReminders: [{ method: 'popup', minutes: 10 }] });
    expect(data.nextSyncToken).toBeTruthy();

    const readable = await clients.calendar.calendarList.list({ minAccessRole: 'reader' });
    expect(readable.data.items!.map((e) => e.id)).toEqual([ada, work.id, team.id]);
    const first = await clients.calendar.calendarList.list({ maxResults: 3 });
    expect(first.data.items).toHaveLength(3);
    const second = await clients.calendar.calendarList.list({ maxResults: 3, pageToken: first.data.nextPageToken! });
    expect(second.data.items!.map((e) => e.id)).toEqual([busy.id]);
    expect(first.data.nextSyncToken).toBeUndefined();
  });

  it('a sync token returns changed entries, removed ones as deleted; minAccessRole with it is refused', async () => {
    const { team, busy } = await threeMore();
    const { data } = await clients.calendar.calendarList.list();
    await running.admin.shareCalendar(busy.id, ada, 'reader');
    await running.admin.unshareCalendar(team.id, ada);
    await running.admin.renameCalendar(busy.id, 'Grace (shared)');
    const changes = await clients.calendar.calendarList.list({ syncToken: data.nextSyncToken! });
    expect(changes.data.items).toEqual([
      expect.objectContaining({ id: team.id, deleted: true }),
      expect.objectContaining({ id: busy.id, accessRole: 'reader', summary: 'Grace (shared)' }),
    ]);
    const mixed = await failure(clients.calendar.calendarList.list({ syncToken: data.nextSyncToken!, minAccessRole: 'reader' }));
    expect(mixed.status).toBe(400);
    expect((await clients.calendar.calendarList.list()).data.items!.map((e) => e.id)).not.toContain(team.id);
  });
});

describe('calendarList.watch', () => {
  it('sends sync, then exists when the list changes, with the channel headers events channels carry', async () => {
    const recorder = await startRecorder();
    try {
      const { data: channel } = await clients.calendar.calendarList.watch({ requestBody: { id: 'list-channel', type: 'web_hook', address: recorder.url, token: 'list-token' } });
      expect(channel).toMatchObject({ kind: 'api#channel', id: 'list-channel', resourceUri: 'https://www.googleapis.com/calendar/v3/users/me/calendarList?alt=json' });
      const team = await running.admin.createCalendar(grace, 'Team');
      await running.admin.drainPushes();
      expect(recorder.requests).toHaveLength(1);
      await running.admin.shareCalendar(team.id, ada, 'writer');
      await running.admin.unshareCalendar(team.id, ada);
      await running.admin.drainPushes();
      expect(recorder.requests.map((r) => r.headers['x-goog-resource-state'])).toEqual(['sync', 'exists', 'exists']);
      expect(recorder.requests[1]!.headers).toMatchObject({
        'x-goog-channel-id': 'list-channel',
        'x-goog-resource-id': channel.resourceId,
        'x-goog-channel-token': 'list-token',
        'x-goog-resource-uri': channel.resourceUri,
      });
      await clients.calendar.channels.stop({ requestBody: { id: 'list-channel', resourceId: channel.resourceId! } });
      await running.admin.createCalendar(ada, 'after stop');
      await running.admin.drainPushes();
      expect(recorder.requests).toHaveLength(3);
    } finally {
      await recorder.close();
    }
  });
});

describe('events on secondary and shared calendars', () => {
  it('lists and watches each calendar on its own; a reader sees the events; losing access answers 404 and silences the channel', async () => {
    const { work, team } = await threeMore();
    const own = await running.admin.createEvent(ada, { summary: 'planning', ...hour(1), calendarId: work.id });
    const shared = await running.admin.createEvent(grace, { summary: 'team sync', ...hour(2), calendarId: team.id });
    expect((await clients.calendar.events.list({ calendarId: work.id })).data.items!.map((e) => e.id)).toEqual([own.id]);
    expect((await clients.calendar.events.list({ calendarId: 'primary' })).data.items).toEqual([]);
    const { data } = await clients.calendar.events.list({ calendarId: team.id });
    expect(data).toMatchObject({ summary: 'Team', accessRole: 'reader', defaultReminders: [] });
    expect(data.items!.map((e) => [e.id, e.summary, e.organizer?.email])).toEqual([[shared.id, 'team sync', team.id]]);

    const recorder = await startRecorder();
    try {
      const { data: channel } = await clients.calendar.events.watch({ calendarId: team.id, requestBody: { id: 'team-channel', type: 'web_hook', address: recorder.url } });
      expect(channel.resourceUri).toBe(`https://www.googleapis.com/calendar/v3/calendars/${encodeURIComponent(team.id)}/events?alt=json`);
      await waitFor(() => Promise.resolve(recorder.requests.length === 1));
      await running.admin.createEvent(ada, { summary: 'not on the team calendar', ...hour(3) });
      await running.admin.updateEvent(grace, shared.id, { summary: 'team sync (moved)' }, team.id);
      await running.admin.drainPushes();
      expect(recorder.requests.map((r) => r.headers['x-goog-resource-state'])).toEqual(['sync', 'exists']);

      await running.admin.unshareCalendar(team.id, ada);
      expect((await failure(clients.calendar.events.list({ calendarId: team.id }))).status).toBe(404);
      await running.admin.cancelEvent(grace, shared.id, team.id);
      await running.admin.drainPushes();
      expect(recorder.requests).toHaveLength(2);
    } finally {
      await recorder.close();
    }
    expect((await failure(clients.calendar.events.list({ calendarId: 'nobody@group.calendar.google.com' }))).status).toBe(404);
  });

  it('an injected permission 403 answers on the calendar it names only, and reads as a refusal of that calendar alone', async () => {
    const { work, team } = await threeMore();
    await running.admin.setFaults({ failNext: [{ method: 'calendar.events.list', calendarId: team.id, status: 403, reason: 'forbidden', count: 1 }] });
    expect((await clients.calendar.events.list({ calendarId: work.id })).status).toBe(200);
    let refused: unknown = null;
    await clients.calendar.events.list({ calendarId: team.id }).catch((error: unknown) => (refused = error));
    const classified = classifyGoogleError(refused, 'calendar.events.list');
    expect(classified.details).toMatchObject({ status: 403, reason: 'forbidden', oneCalendar: true });
    expect(refusesOnlyItsCalendar(classified, team.id)).toBe(true);
    expect(refusesOnlyItsCalendar(classified, 'primary')).toBe(false);
    expect((await clients.calendar.events.list({ calendarId: team.id })).status).toBe(200);
  });

  it('a free/busy reader lists when the calendar is busy, never what the events are', async () => {
    const { busy } = await threeMore();
    const event = await running.admin.createEvent(grace, { summary: 'private matter', description: 'details', ...hour(4), calendarId: busy.id });
    const { data } = await clients.calendar.events.list({ calendarId: busy.id });
    expect(data.accessRole).toBe('freeBusyReader');
    expect(data.items).toEqual([{ kind: 'calendar#event', etag: expect.any(String) as unknown, id: event.id, status: 'confirmed', start: hour(4).start, end: hour(4).end }]);
    const got = await clients.calendar.events.get({ calendarId: busy.id, eventId: event.id });
    expect(got.data.summary).toBeUndefined();
  });
});

describe('event types and reminders', () => {
  it('every event carries its eventType; eventTypes filters events.list; an unknown type is refused', async () => {
    const ids: Record<string, string> = {};
    for (const eventType of ['default', 'birthday', 'focusTime', 'outOfOffice', 'workingLocation', 'fromGmail'] as const) {
      ids[eventType] = (await running.admin.createEvent(ada, { summary: eventType, ...hour(5), eventType })).id;
    }
    const all = await clients.calendar.events.list({ calendarId: 'primary' });
    expect(all.data.items!.map((e) => e.eventType)).toEqual(['default', 'birthday', 'focusTime', 'outOfOffice', 'workingLocation', 'fromGmail']);
    expect(all.data.items![1]!.birthdayProperties).toEqual({ type: 'birthday' });
    expect(all.data.items![2]!.focusTimeProperties).toBeDefined();

    const some = await clients.calendar.events.list({ calendarId: 'primary', eventTypes: ['default', 'fromGmail'] });
    expect(some.data.items!.map((e) => e.id)).toEqual([ids.default, ids.fromGmail]);
    const bad = await failure(clients.calendar.events.list({ calendarId: 'primary', eventTypes: ['holiday'] }));
    expect(bad.status).toBe(400);
  });

  it('events.watch with eventTypes notifies only for events of those types', async () => {
    const recorder = await startRecorder();
    try {
      await clients.calendar.events.watch({ calendarId: 'primary', eventTypes: ['default'], requestBody: { id: 'typed', type: 'web_hook', address: recorder.url } });
      await running.admin.createEvent(ada, { summary: 'birthday', start: { date: '2026-12-06' }, end: { date: '2026-12-07' }, eventType: 'birthday' });
      await running.admin.createEvent(ada, { summary: 'focus', ...hour(6), eventType: 'focusTime' });
      await running.admin.drainPushes();
      expect(recorder.requests).toHaveLength(1);
      await running.admin.createEvent(ada, { summary: 'meeting', ...hour(6) });
      await running.admin.drainPushes();
      expect(recorder.requests.map((r) => r.headers['x-goog-resource-state'])).toEqual(['sync', 'exists']);
    } finally {
      await recorder.close();
    }
  });

  it('events carry reminders (the calendar default or their own); listings carry the calendar’s defaultReminders', async () => {
    const plain = await running.admin.createEvent(ada, { summary: 'default reminders', ...hour(7) });
    const own = await running.admin.createEvent(ada, { summary: 'own reminders', ...hour(8), reminders: { useDefault: false, overrides: [{ method: 'email', minutes: 60 }] } });
    const { data } = await clients.calendar.events.list({ calendarId: 'primary' });
    expect(data.defaultReminders).toEqual([{ method: 'popup', minutes: 10 }]);
    const byId = new Map(data.items!.map((e) => [e.id, e.reminders]));
    expect(byId.get(plain.id)).toEqual({ useDefault: true });
    expect(byId.get(own.id)).toEqual({ useDefault: false, overrides: [{ method: 'email', minutes: 60 }] });
  });
});
