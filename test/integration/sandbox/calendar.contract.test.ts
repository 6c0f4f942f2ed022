import { SandboxAdmin, type CreatedAccount } from '../../../sandbox/src/admin-client';
import { startSandbox, type RunningSandbox } from '../../../sandbox/src/server';
import { failure, officialClients } from '../../support/google-clients';
import { startRecorder } from '../../support/http-recorder';
import { waitFor } from '../../support/wait';

let sandbox: RunningSandbox;
let admin: SandboxAdmin;
const email = 'grace@example.com';
let account: CreatedAccount;
let clients: ReturnType<typeof officialClients>;
const at = (iso: string) => ({ dateTime: iso });

beforeAll(async () => {
  sandbox = await startSandbox({ calendarRetryBaseMs: 20 });
  admin = new SandboxAdmin(sandbox.url);
});
afterAll(() => sandbox.close());
beforeEach(async () => {
  await admin.reset();
  account = await admin.createAccount(email);
  clients = officialClients(sandbox.url, account);
});

async function fullSync(params: { maxResults?: number; singleEvents?: boolean } = {}) {
  const items = [];
  let pageToken: string | undefined;
  let pages = 0;
  for (;;) {
    const { data } = await clients.calendar.events.list({ calendarId: 'primary', ...params, ...(pageToken && { pageToken }) });
    pages += 1;
    items.push(...(data.items ?? []));
    expect(Boolean(data.nextPageToken) !== Boolean(data.nextSyncToken)).toBe(true);
    if (data.nextSyncToken) return { items, syncToken: data.nextSyncToken, pages };
    pageToken = data.nextPageToken!;
  }
}

describe('Calendar events.list', () => {
  it('pages a full sync, then returns only changes, cancelled events included, for the sync token', async () => {
    const ids = [];
    for (let i = 0; i < 5; i += 1) ids.push((await admin.createEvent(email, { summary: `e${i}`, start: at('2026-12-01T10:00:00Z'), end: at('2026-12-01T11:00:00Z') })).id);
    const first = await fullSync({ maxResults: 2 });
    expect(first.pages).toBe(3);
    expect(first.items.map((e) => e.id).sort()).toEqual([...ids].sort());

    await admin.updateEvent(email, ids[0]!, { summary: 'moved', start: at('2026-12-02T10:00:00Z'), end: at('2026-12-02T11:00:00Z') });
    await admin.cancelEvent(email, ids[1]!);
    const { data } = await clients.calendar.events.list({ calendarId: 'primary', syncToken: first.syncToken });
    expect(data.items!.map((e) => [e.id, e.status])).toEqual([
      [ids[0], 'confirmed'],
      [ids[1], 'cancelled'],
    ]);
    expect(data.items![0]!.summary).toBe('moved');
    expect(data.nextSyncToken).toBeTruthy();
    expect(data.nextPageToken).toBeUndefined();

    const quiet = await clients.calendar.events.list({ calendarId: 'primary', syncToken: data.nextSyncToken! });
    expect(quiet.data.items).toEqual([]);
  });

  it('refuses timeMin with a sync token (400) and answers 410 fullSyncRequired once tokens are invalidated', async () => {
    const { syncToken } = await fullSync();
    const mixed = await failure(clients.calendar.events.list({ calendarId: 'primary', syncToken, timeMin: '2026-01-01T00:00:00Z' }));
    expect(mixed.status).toBe(400);

    await admin.invalidateSyncTokens(email);
    const gone = await failure(clients.calendar.events.list({ calendarId: 'primary', syncToken }));
    expect(gone).toMatchObject({ status: 410, reason: 'fullSyncRequired' });
  });

  it('filters a full sync by timeMin and hides cancelled events unless showDeleted', async () => {
    const old = await admin.createEvent(email, { summary: 'old', start: at('2025-01-01T10:00:00Z'), end: at('2025-01-01T11:00:00Z') });
    const soon = await admin.createEvent(email, { summary: 'soon', start: at('2026-12-01T10:00:00Z'), end: at('2026-12-01T11:00:00Z') });
    const gone = await admin.createEvent(email, { summary: 'gone', start: at('2026-12-03T10:00:00Z'), end: at('2026-12-03T11:00:00Z') });
    await admin.cancelEvent(email, gone.id);
    const { data } = await clients.calendar.events.list({ calendarId: 'primary', timeMin: '2026-06-01T00:00:00Z', singleEvents: true });
    expect(data.items!.map((e) => e.id)).toEqual([soon.id]);
    const withDeleted = await clients.calendar.events.list({ calendarId: 'primary', showDeleted: true });
    expect(withDeleted.data.items!.map((e) => e.id).sort()).toEqual([old.id, soon.id, gone.id].sort());
  });
});

describe('Calendar recurring events', () => {
  const daily = (count?: number) => ({
    summary: 'standup',
    start: at('2026-12-01T09:00:00Z'),
    end: at('2026-12-01T09:15:00Z'),
    recurrence: [`RRULE:FREQ=DAILY${count ? `;COUNT=${count}` : ''}`],
  });

  it('lists a series as one event with recurrence, or expanded with singleEvents: instances carry recurringEventId and originalStartTime', async () => {
    const series = await admin.createEvent(email, daily(5));
    const single = await clients.calendar.events.list({ calendarId: 'primary' });
    expect(single.data.items!.map((e) => [e.id, e.recurrence])).toEqual([[series.id, ['RRULE:FREQ=DAILY;COUNT=5']]]);

    const expanded = await clients.calendar.events.list({ calendarId: 'primary', singleEvents: true, orderBy: 'startTime' });
    const items = expanded.data.items!;
    expect(items).toHaveLength(5);
    expect(items.every((e) => e.recurringEventId === series.id && e.recurrence === undefined)).toBe(true);
    expect(items.map((e) => e.start!.dateTime)).toEqual(['01', '02', '03', '04', '05'].map((d) => `2026-12-${d}T09:00:00Z`));
    expect(items[2]).toMatchObject({ id: `${series.id}_20261203T090000Z`, originalStartTime: { dateTime: '2026-12-03T09:00:00Z' }, end: { dateTime: '2026-12-03T09:15:00Z' } });
  });

  it('a changed and a cancelled instance: the sync token returns just those two, and the series without singleEvents lists them as exceptions', async () => {
    const series = await admin.createEvent(email, daily(5));
    const { syncToken } = await fullSync({ singleEvents: true });
    const second = `${series.id}_20261202T090000Z`;
    const third = `${series.id}_20261203T090000Z`;
    await admin.updateEvent(email, second, { summary: 'standup (moved)', start: at('2026-12-02T15:00:00Z'), end: at('2026-12-02T15:15:00Z') });
    await admin.cancelEvent(email, third);

    const changes = await clients.calendar.events.list({ calendarId: 'primary', singleEvents: true, syncToken });
    expect(changes.data.items!.map((e) => [e.id, e.status, e.recurringEventId, e.originalStartTime?.dateTime])).toEqual([
      [second, 'confirmed', series.id, '2026-12-02T09:00:00Z'],
      [third, 'cancelled', series.id, '2026-12-03T09:00:00Z'],
    ]);
    expect(changes.data.items![0]).toMatchObject({ summary: 'standup (moved)', start: { dateTime: '2026-12-02T15:00:00Z' } });

    const live = await clients.calendar.events.list({ calendarId: 'primary', singleEvents: true });
    expect(live.data.items!.map((e) => e.id)).not.toContain(third);
    expect(live.data.items).toHaveLength(4);
    const exceptions = await clients.calendar.events.list({ calendarId: 'primary', showDeleted: true });
    expect(exceptions.data.items!.map((e) => e.id).sort()).toEqual([series.id, second, third].sort());
  });

  it('a series with no end is expanded only within timeMin/timeMax', async () => {
    await admin.createEvent(email, daily());
    const { data } = await clients.calendar.events.list({
      calendarId: 'primary',
      singleEvents: true,
      timeMin: '2026-12-10T00:00:00Z',
      timeMax: '2026-12-17T00:00:00+00:00',
    });
    expect(data.items!.map((e) => e.start!.dateTime!.slice(0, 10))).toEqual(['10', '11', '12', '13', '14', '15', '16'].map((d) => `2026-12-${d}`));
  });
});

describe('Calendar events.list parameters and events.get', () => {
  it('orders by startTime (only with singleEvents, else 400) or updated, and filters by q', async () => {
    const late = await admin.createEvent(email, { summary: 'Budget review', start: at('2026-12-09T10:00:00Z'), end: at('2026-12-09T11:00:00Z') });
    const early = await admin.createEvent(email, { summary: 'Team lunch', start: at('2026-12-02T12:00:00Z'), end: at('2026-12-02T13:00:00Z') });
    await admin.updateEvent(email, late.id, { summary: 'Budget review (final)' });
    const byStart = await clients.calendar.events.list({ calendarId: 'primary', singleEvents: true, orderBy: 'startTime' });
    expect(byStart.data.items!.map((e) => e.id)).toEqual([early.id, late.id]);
    const byUpdated = await clients.calendar.events.list({ calendarId: 'primary', orderBy: 'updated' });
    expect(byUpdated.data.items!.map((e) => e.id)).toEqual([early.id, late.id]);
    expect(await failure(clients.calendar.events.list({ calendarId: 'primary', orderBy: 'startTime' }))).toMatchObject({ status: 400 });
    const found = await clients.calendar.events.list({ calendarId: 'primary', q: 'budget FINAL' });
    expect(found.data.items!.map((e) => e.id)).toEqual([late.id]);
  });

  it('answers 400 for a timeMin or timeMax without a time-zone offset', async () => {
    expect(await failure(clients.calendar.events.list({ calendarId: 'primary', timeMin: '2026-12-01T00:00:00' }))).toMatchObject({ status: 400 });
    expect(await failure(clients.calendar.events.list({ calendarId: 'primary', timeMax: '2026-12-01' }))).toMatchObject({ status: 400 });
    const ok = await clients.calendar.events.list({ calendarId: 'primary', timeMin: '2026-12-01T00:00:00-05:00' });
    expect(ok.status).toBe(200);
  });

  it('puts an etag on every list and every event, changing with each change', async () => {
    const event = await admin.createEvent(email, { summary: 'e', start: at('2026-12-01T10:00:00Z'), end: at('2026-12-01T11:00:00Z') });
    const before = await clients.calendar.events.list({ calendarId: 'primary' });
    await admin.updateEvent(email, event.id, { summary: 'e2' });
    const after = await clients.calendar.events.list({ calendarId: 'primary' });
    expect(before.data.etag).toMatch(/^".+"$/);
    expect(after.data.etag).not.toBe(before.data.etag);
    expect(after.data.items![0]!.etag).not.toBe(before.data.items![0]!.etag);
  });

  it('events.get returns a live event, an instance, a deleted event as cancelled, and 404 for an unknown id', async () => {
    const event = await admin.createEvent(email, { summary: 'e', start: at('2026-12-01T10:00:00Z'), end: at('2026-12-01T11:00:00Z') });
    const series = await admin.createEvent(email, { summary: 's', start: at('2026-12-01T08:00:00Z'), end: at('2026-12-01T08:30:00Z'), recurrence: ['RRULE:FREQ=WEEKLY;COUNT=3'] });
    expect((await clients.calendar.events.get({ calendarId: 'primary', eventId: event.id })).data).toMatchObject({ id: event.id, status: 'confirmed', summary: 'e' });
    const instance = await clients.calendar.events.get({ calendarId: 'primary', eventId: `${series.id}_20261208T080000Z` });
    expect(instance.data).toMatchObject({ recurringEventId: series.id, start: { dateTime: '2026-12-08T08:00:00Z' } });
    await admin.cancelEvent(email, event.id);
    const gone = await clients.calendar.events.get({ calendarId: 'primary', eventId: event.id });
    expect(gone.data).toMatchObject({ id: event.id, status: 'cancelled' });
    expect(await failure(clients.calendar.events.get({ calendarId: 'primary', eventId: 'nosuchevent' }))).toMatchObject({ status: 404 });
  });

  it('shows attendees with their responseStatus, the account’s own marked self; a decline and an undo (restore) bump updated', async () => {
    const event = await admin.createEvent(email, {
      summary: 'invite',
      start: at('2026-12-01T10:00:00Z'),
      end: at('2026-12-01T11:00:00Z'),
      attendees: [{ email }, { email: 'other@example.com', responseStatus: 'accepted' }],
    });
    const declined = await admin.respondToEvent(email, event.id, 'declined');
    const { data } = await clients.calendar.events.get({ calendarId: 'primary', eventId: event.id });
    expect(data.attendees).toEqual([
      { email, responseStatus: 'declined', self: true },
      { email: 'other@example.com', responseStatus: 'accepted' },
    ]);
    expect(Date.parse(declined.updated)).toBeGreaterThan(Date.parse(event.updated));
    await admin.cancelEvent(email, event.id);
    const restored = await admin.restoreEvent(email, event.id);
    const back = await clients.calendar.events.get({ calendarId: 'primary', eventId: event.id });
    expect(back.data.status).toBe('confirmed');
    expect(Date.parse(restored.updated)).toBeGreaterThan(Date.parse(declined.updated));
  });
});

describe('Calendar channels', () => {
  it('sends sync (number 1) first, then exists with increasing numbers and the real headers, and nothing after stop', async () => {
    const recorder = await startRecorder();
    try {
      const { data: channel } = await clients.calendar.events.watch({
        calendarId: 'primary',
        requestBody: { id: 'channel-1', type: 'web_hook', address: recorder.url, token: 'secret-token', params: { ttl: '3600' } },
      });
      expect(channel).toMatchObject({ kind: 'api#channel', id: 'channel-1', token: 'secret-token' });
      expect(Number(channel.expiration) - Date.now()).toBeGreaterThan(3590_000);
      await waitFor(() => Promise.resolve(recorder.requests.length === 1));

      await admin.createEvent(email, { summary: 'a', start: at('2026-12-01T10:00:00Z'), end: at('2026-12-01T11:00:00Z') });
      await admin.createEvent(email, { summary: 'b', start: at('2026-12-01T10:00:00Z'), end: at('2026-12-01T11:00:00Z') });
      await waitFor(() => Promise.resolve(recorder.requests.length === 3));
      const [sync, ...exists] = recorder.requests;
      expect(sync!.headers).toMatchObject({
        'x-goog-channel-id': 'channel-1',
        'x-goog-message-number': '1',
        'x-goog-resource-state': 'sync',
        'x-goog-resource-id': channel.resourceId,
        'x-goog-channel-token': 'secret-token',
      });
      expect(sync!.headers['x-goog-resource-uri']).toContain('/calendar/v3/calendars/');
      expect(sync!.headers['x-goog-channel-expiration']).toMatch(/GMT$/);
      expect(sync!.body).toBe('');
      expect(exists.map((r) => r.headers['x-goog-resource-state'])).toEqual(['exists', 'exists']);
      const numbers = recorder.requests.map((r) => Number(r.headers['x-goog-message-number']));
      expect(numbers[1]!).toBeGreaterThan(numbers[0]!);
      expect(numbers[2]!).toBeGreaterThan(numbers[1]!);

      await clients.calendar.channels.stop({ requestBody: { id: 'channel-1', resourceId: channel.resourceId! } });
      await admin.createEvent(email, { summary: 'c', start: at('2026-12-01T10:00:00Z'), end: at('2026-12-01T11:00:00Z') });
      await admin.drainPushes();
      expect(recorder.requests).toHaveLength(3);
    } finally {
      await recorder.close();
    }
  });

  it('retries a push on 503 with backoff, but not on 404', async () => {
    const recorder = await startRecorder();
    try {
      await clients.calendar.events.watch({ calendarId: 'primary', requestBody: { id: 'channel-2', type: 'web_hook', address: recorder.url } });
      await waitFor(() => Promise.resolve(recorder.requests.length === 1));
      recorder.respondWith([503, 503, 200]);
      await admin.createEvent(email, { summary: 'x', start: at('2026-12-01T10:00:00Z'), end: at('2026-12-01T11:00:00Z') });
      await waitFor(() => Promise.resolve(recorder.requests.length === 4));
      recorder.respondWith([404]);
      await admin.createEvent(email, { summary: 'y', start: at('2026-12-01T10:00:00Z'), end: at('2026-12-01T11:00:00Z') });
      await waitFor(() => Promise.resolve(recorder.requests.length === 5));
      await new Promise((r) => setTimeout(r, 200));
      expect(recorder.requests).toHaveLength(5);
      const { pushes } = await admin.stats();
      expect(pushes).toMatchObject({ calendarRetries: 2, calendarFailed: 1 });
    } finally {
      await recorder.close();
    }
  });

  it('accepts plain http only on loopback and refuses a reused channel id', async () => {
    const notHttps = await failure(
      clients.calendar.events.watch({ calendarId: 'primary', requestBody: { id: 'c3', type: 'web_hook', address: 'http://example.com/push' } }),
    );
    expect(notHttps).toMatchObject({ status: 400, reason: 'push.webhookUrlNotHttps' });
    await clients.calendar.events.watch({ calendarId: 'primary', requestBody: { id: 'c4', type: 'web_hook', address: 'https://example.com/push' } });
    const reused = await failure(
      clients.calendar.events.watch({ calendarId: 'primary', requestBody: { id: 'c4', type: 'web_hook', address: 'https://example.com/push' } }),
    );
    expect(reused).toMatchObject({ status: 400, reason: 'channelIdNotUnique' });
  });
});
