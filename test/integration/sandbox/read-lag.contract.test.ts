import type { CreatedAccount } from '../../../sandbox/src/admin-client';
import { failure, officialClients } from '../../support/google-clients';
import { useSandbox } from '../../support/sandbox-fixture';
import { startRecorder } from '../../support/http-recorder';
import { createPullSubscription, createTopic, pullAll, uniqueProjectId } from '../../support/pubsub';
import { waitFor } from '../../support/wait';

/**
 * Read-after-push lag: the push goes out at once, the change becomes readable later on the
 * sandbox clock. Lags are a minute long and the clock is advanced explicitly, so no
 * assertion races real time.
 */

const projectId = uniqueProjectId();
const email = 'lag@example.com';
const other = 'prompt@example.com';
const LAG_MS = 60_000;
let account: CreatedAccount;
let clients: ReturnType<typeof officialClients>;
const at = (iso: string) => ({ dateTime: iso });

const running = useSandbox({ pubsubEmulatorHost: process.env.PUBSUB_EMULATOR_HOST, gmailPushMinIntervalMs: 0 });
beforeEach(async () => {
  await running.admin.reset();
  account = await running.admin.createAccount(email);
  clients = officialClients(running.sandbox.url, account);
});

describe('Gmail read-after-push lag', () => {
  it('pushes at once; history.list, getProfile, messages.get and batch parts serve the change only after the lag', async () => {
    const topicName = await createTopic(projectId, 'lag-gmail');
    const subscription = await createPullSubscription(topicName);
    const { data: watch } = await clients.gmail.users.watch({ userId: 'me', requestBody: { topicName } });
    await running.admin.drainPushes();
    await pullAll(subscription);
    await running.admin.setLag({ account: email, api: 'gmail', fixedMs: LAG_MS });

    const sent = await running.admin.deliverMail(email, { subject: 'to myself' });
    const pushed = await waitFor(async () => {
      const got = await pullAll(subscription);
      return got.length > 0 ? got : null;
    });
    expect(pushed.map((m) => m.data)).toEqual([{ emailAddress: email, historyId: Number(sent.historyId) }]);

    const quiet = await clients.gmail.users.history.list({ userId: 'me', startHistoryId: watch.historyId! });
    expect(quiet.data).toEqual({ historyId: watch.historyId });
    expect((await clients.gmail.users.getProfile({ userId: 'me' })).data.historyId).toBe(watch.historyId);
    const missing = await failure(clients.gmail.users.messages.get({ userId: 'me', id: sent.id, format: 'metadata' }));
    expect(missing).toMatchObject({ status: 404, reason: 'notFound', message: 'Requested entity was not found.' });
    expect((await batchStatuses([sent.id]))).toEqual([404]);
    expect((await clients.gmail.users.messages.list({ userId: 'me', labelIds: ['INBOX'] })).data.messages).toBeUndefined();

    await running.admin.advanceClock(LAG_MS);
    const listed = await clients.gmail.users.history.list({ userId: 'me', startHistoryId: watch.historyId! });
    expect(listed.data.history!.map((h) => h.messagesAdded?.[0]?.message?.id)).toEqual([sent.id]);
    expect(listed.data.historyId).toBe(sent.historyId);
    expect((await clients.gmail.users.getProfile({ userId: 'me' })).data.historyId).toBe(sent.historyId);
    expect((await clients.gmail.users.messages.get({ userId: 'me', id: sent.id, format: 'metadata' })).data.id).toBe(sent.id);
    expect(await batchStatuses([sent.id])).toEqual([200]);
    expect((await running.admin.stats()).lagged).toEqual({ gmail: 1, calendar: 0 });
  });

  it('with historyId "ahead", answers the newest history id while its records are still hidden', async () => {
    const { data: profile } = await clients.gmail.users.getProfile({ userId: 'me' });
    await running.admin.setLag({ account: email, api: 'gmail', fixedMs: LAG_MS, historyId: 'ahead' });
    const sent = await running.admin.deliverMail(email, { subject: 'ahead' });
    const { data } = await clients.gmail.users.history.list({ userId: 'me', startHistoryId: profile.historyId! });
    expect(data).toEqual({ historyId: sent.historyId });
    expect((await clients.gmail.users.getProfile({ userId: 'me' })).data.historyId).toBe(sent.historyId);
    await running.admin.advanceClock(LAG_MS);
    const after = await clients.gmail.users.history.list({ userId: 'me', startHistoryId: profile.historyId! });
    expect(after.data.history).toHaveLength(1);
  });

  it('random lag up to maxMs: what history serves is always a prefix of the log, and all of it after maxMs', async () => {
    const { data: profile } = await clients.gmail.users.getProfile({ userId: 'me' });
    await running.admin.setLag({ api: 'gmail', maxMs: 10_000 });
    const sent = [];
    for (let i = 0; i < 8; i += 1) sent.push((await running.admin.deliverMail(email, { subject: `m${i}` })).id);
    const seen: number[] = [];
    for (let step = 0; step <= 10; step += 1) {
      const { data } = await clients.gmail.users.history.list({ userId: 'me', startHistoryId: profile.historyId! });
      const ids = (data.history ?? []).map((h) => h.messagesAdded![0]!.message!.id);
      expect(ids).toEqual(sent.slice(0, ids.length));
      seen.push(ids.length);
      await running.admin.advanceClock(1000);
    }
    expect(seen.at(-1)).toBe(8);
    expect(seen[0]).toBeLessThan(8);
    expect((await running.admin.stats()).lagged.gmail).toBeGreaterThan(0);
  });

  it('lags only the account and API named; clearing the rule lags no new change', async () => {
    const prompt = officialClients(running.sandbox.url, await running.admin.createAccount(other));
    await running.admin.setLag({ account: email, api: 'gmail', fixedMs: LAG_MS });
    const theirs = await running.admin.deliverMail(other, { subject: 'not lagged' });
    expect((await prompt.gmail.users.messages.get({ userId: 'me', id: theirs.id, format: 'metadata' })).status).toBe(200);
    const event = await running.admin.createEvent(email, { summary: 'calendar not lagged', start: at('2026-12-01T10:00:00Z'), end: at('2026-12-01T11:00:00Z') });
    expect((await clients.calendar.events.list({ calendarId: 'primary' })).data.items!.map((e) => e.id)).toEqual([event.id]);

    expect((await running.admin.clearLag({ account: email })).rules).toEqual([]);
    const mine = await running.admin.deliverMail(email, { subject: 'after clearing' });
    expect((await clients.gmail.users.messages.get({ userId: 'me', id: mine.id, format: 'metadata' })).status).toBe(200);
  });

  it('refuses a rule with both or neither of fixedMs and maxMs, changing nothing', async () => {
    await expect(running.admin.setLag({ api: 'gmail', fixedMs: 1, maxMs: 2 })).rejects.toThrow(/400/);
    await expect(running.admin.setLag({ api: 'gmail' })).rejects.toThrow(/400/);
    expect((await running.admin.lagRules()).rules).toEqual([]);
  });
});

describe('Calendar read-after-push lag', () => {
  it('notifies the channel at once; events.list serves the change (and a sync token covering it) only after the lag', async () => {
    const recorder = await startRecorder();
    try {
      const existing = await running.admin.createEvent(email, { summary: 'before', start: at('2026-12-01T10:00:00Z'), end: at('2026-12-01T11:00:00Z') });
      const { data: first } = await clients.calendar.events.list({ calendarId: 'primary' });
      await clients.calendar.events.watch({ calendarId: 'primary', requestBody: { id: 'lag-channel', type: 'web_hook', address: recorder.url } });
      await waitFor(() => Promise.resolve(recorder.requests.length >= 1));
      await running.admin.setLag({ account: email, api: 'calendar', fixedMs: LAG_MS });

      const created = await running.admin.createEvent(email, { summary: 'new', start: at('2026-12-02T10:00:00Z'), end: at('2026-12-02T11:00:00Z') });
      await running.admin.updateEvent(email, existing.id, { summary: 'renamed' });
      await running.admin.drainPushes();
      expect(recorder.requests.slice(1).map((r) => r.headers['x-goog-resource-state'])).toEqual(['exists', 'exists']);

      const incremental = await clients.calendar.events.list({ calendarId: 'primary', syncToken: first.nextSyncToken! });
      expect(incremental.data.items).toEqual([]);
      const full = await clients.calendar.events.list({ calendarId: 'primary' });
      expect(full.data.items!.map((e) => [e.id, e.summary])).toEqual([[existing.id, 'before']]);

      await running.admin.advanceClock(LAG_MS);
      const later = await clients.calendar.events.list({ calendarId: 'primary', syncToken: incremental.data.nextSyncToken! });
      expect(later.data.items!.map((e) => [e.id, e.summary])).toEqual([
        [created.id, 'new'],
        [existing.id, 'renamed'],
      ]);
      expect((await running.admin.stats()).lagged.calendar).toBe(2);
    } finally {
      await recorder.close();
    }
  });
});

async function batchStatuses(ids: string[]): Promise<number[]> {
  const { token } = await clients.auth.getAccessToken();
  const body = ids.map((id, i) => `--b\r\nContent-Type: application/http\r\nContent-ID: <item-${i}>\r\n\r\nGET /gmail/v1/users/me/messages/${id}?format=metadata\r\n\r\n`).join('') + '--b--\r\n';
  const response = await fetch(`${running.sandbox.url}/batch/gmail/v1`, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'multipart/mixed; boundary=b' }, body });
  return [...(await response.text()).matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
}
