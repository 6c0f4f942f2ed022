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

async function fullSync(params: { maxResults?: number } = {}) {
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
