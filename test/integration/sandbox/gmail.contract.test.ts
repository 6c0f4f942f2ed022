import { SandboxAdmin, type CreatedAccount } from '../../../sandbox/src/admin-client';
import { startSandbox, type RunningSandbox } from '../../../sandbox/src/server';
import { failure, officialClients } from '../../support/google-clients';
import { createPullSubscription, createTopic, pullAll, uniqueProjectId } from '../../support/pubsub';
import { waitFor } from '../../support/wait';

let sandbox: RunningSandbox;
let admin: SandboxAdmin;
const projectId = uniqueProjectId();
const email = 'ada@example.com';
let account: CreatedAccount;
let clients: ReturnType<typeof officialClients>;

beforeAll(async () => {
  sandbox = await startSandbox({ pubsubEmulatorHost: process.env.PUBSUB_EMULATOR_HOST });
  admin = new SandboxAdmin(sandbox.url);
});
afterAll(() => sandbox.close());
beforeEach(async () => {
  await admin.reset();
  account = await admin.createAccount(email);
  clients = officialClients(sandbox.url, account);
});

describe('Gmail history', () => {
  it('lists added messages in increasing id order, carrying only id and threadId', async () => {
    const { data: profile } = await clients.gmail.users.getProfile({ userId: 'me' });
    const first = await admin.deliverMail(email, { subject: 'one' });
    const second = await admin.deliverMail(email, { subject: 'two' });

    const { data } = await clients.gmail.users.history.list({ userId: 'me', startHistoryId: profile.historyId! });
    const ids = data.history!.map((h) => BigInt(h.id!));
    expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : 1)));
    expect(ids[1]! - ids[0]!).toBeGreaterThanOrEqual(1n);
    expect(data.history!.map((h) => h.messagesAdded![0]!.message)).toEqual([
      { id: first.id, threadId: first.threadId },
      { id: second.id, threadId: second.threadId },
    ]);
    expect(data.historyId).toBe(second.historyId);
  });

  it('answers {historyId} alone when nothing changed', async () => {
    const { data: profile } = await clients.gmail.users.getProfile({ userId: 'me' });
    const { data } = await clients.gmail.users.history.list({ userId: 'me', startHistoryId: profile.historyId! });
    expect(data).toEqual({ historyId: profile.historyId });
  });

  it('pages with maxResults and filters by historyTypes and labelId', async () => {
    const { data: profile } = await clients.gmail.users.getProfile({ userId: 'me' });
    const start = profile.historyId!;
    const messages = [];
    for (let i = 0; i < 5; i += 1) messages.push(await admin.deliverMail(email, { subject: `m${i}` }));
    await admin.archiveMail(email, messages[0]!.id);
    await admin.deliverMail(email, { subject: 'sent', labelIds: ['SENT'] });

    const seen: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const { data } = await clients.gmail.users.history.list({ userId: 'me', startHistoryId: start, maxResults: 2, ...(pageToken && { pageToken }) });
      seen.push(...(data.history ?? []).map((h) => h.id!));
      pageToken = data.nextPageToken ?? undefined;
      pages += 1;
    } while (pageToken);
    expect(seen).toHaveLength(7);
    expect(pages).toBe(4);

    const removed = await clients.gmail.users.history.list({ userId: 'me', startHistoryId: start, historyTypes: ['labelRemoved'] });
    expect(removed.data.history!.map((h) => h.labelsRemoved![0]!.labelIds)).toEqual([['INBOX']]);
    const inbox = await clients.gmail.users.history.list({ userId: 'me', startHistoryId: start, labelId: 'INBOX' });
    expect(inbox.data.history).toHaveLength(6);
  });

  it('answers 404 for a start id older than the retained history, and 400 for a malformed one', async () => {
    const { data: profile } = await clients.gmail.users.getProfile({ userId: 'me' });
    await admin.deliverMail(email, { subject: 'before expiry' });
    await admin.expireHistory(email);
    const expired = await failure(clients.gmail.users.history.list({ userId: 'me', startHistoryId: profile.historyId! }));
    expect(expired).toMatchObject({ status: 404, reason: 'notFound', message: 'Requested entity was not found.' });

    const malformed = await failure(clients.gmail.users.history.list({ userId: 'me', startHistoryId: 'abc' }));
    expect(malformed.status).toBe(400);
  });
});

describe('Gmail messages', () => {
  it('lists messages with labelIds filters and pages, newest first', async () => {
    const a = await admin.deliverMail(email, { subject: 'a' });
    const b = await admin.deliverMail(email, { subject: 'b' });
    await admin.deliverMail(email, { subject: 'sent', labelIds: ['SENT'] });
    const page1 = await clients.gmail.users.messages.list({ userId: 'me', labelIds: ['INBOX'], maxResults: 1 });
    expect(page1.data.messages!.map((m) => m.id)).toEqual([b.id]);
    const page2 = await clients.gmail.users.messages.list({ userId: 'me', labelIds: ['INBOX'], maxResults: 1, pageToken: page1.data.nextPageToken! });
    expect(page2.data.messages!.map((m) => m.id)).toEqual([a.id]);
    expect(page2.data.nextPageToken).toBeUndefined();
  });

  it('gets metadata with the requested headers only, and minimal without a payload', async () => {
    const sent = await admin.deliverMail(email, { subject: 'Quarterly report', from: 'Grace <grace@example.com>' });
    const { data } = await clients.gmail.users.messages.get({ userId: 'me', id: sent.id, format: 'metadata', metadataHeaders: ['From', 'Subject'] });
    expect(data.payload!.headers).toEqual([
      { name: 'From', value: 'Grace <grace@example.com>' },
      { name: 'Subject', value: 'Quarterly report' },
    ]);
    expect(data.labelIds).toEqual(expect.arrayContaining(['INBOX']));
    expect(data.internalDate).toMatch(/^\d+$/);
    const minimal = await clients.gmail.users.messages.get({ userId: 'me', id: sent.id, format: 'minimal' });
    expect(minimal.data.payload).toBeUndefined();

    await admin.deleteMail(email, sent.id);
    expect((await failure(clients.gmail.users.messages.get({ userId: 'me', id: sent.id, format: 'metadata' }))).status).toBe(404);
  });

  it('refuses q and format=full under the metadata scope', async () => {
    expect((await failure(clients.gmail.users.messages.list({ userId: 'me', q: 'from:grace' }))).status).toBe(403);
  });
});

describe('Gmail labels and threads', () => {
  it('lists system labels and the user labels in use; labels.get counts messages and threads; 404 for an unknown label', async () => {
    const first = await admin.deliverMail(email, { subject: 'project kickoff', labelIds: ['INBOX', 'UNREAD', 'Label_7'] });
    await admin.deliverMail(email, { subject: 'Re: project kickoff', labelIds: ['INBOX', 'Label_7'], threadId: first.threadId });
    const { data } = await clients.gmail.users.labels.list({ userId: 'me' });
    const byId = new Map(data.labels!.map((l) => [l.id, l]));
    expect(byId.get('INBOX')).toMatchObject({ name: 'INBOX', type: 'system' });
    expect(byId.get('SENT')).toMatchObject({ type: 'system' });
    expect(byId.get('Label_7')).toMatchObject({ name: '7', type: 'user' });
    const label = await clients.gmail.users.labels.get({ userId: 'me', id: 'Label_7' });
    expect(label.data).toMatchObject({ messagesTotal: 2, messagesUnread: 1, threadsTotal: 1, threadsUnread: 1 });
    expect((await failure(clients.gmail.users.labels.get({ userId: 'me', id: 'Label_404' }))).status).toBe(404);
  });

  it('threads.get returns the thread’s messages oldest first, with their labels and the requested headers', async () => {
    const first = await admin.deliverMail(email, { subject: 'question' });
    const reply = await admin.deliverMail(email, { subject: 'Re: question', labelIds: ['SENT'], threadId: first.threadId });
    await admin.deliverMail(email, { subject: 'unrelated' });
    const { data } = await clients.gmail.users.threads.get({ userId: 'me', id: first.threadId, format: 'metadata', metadataHeaders: ['Subject'] });
    expect(data.messages!.map((m) => [m.id, m.labelIds, m.payload!.headers])).toEqual([
      [first.id, ['INBOX', 'UNREAD'], [{ name: 'Subject', value: 'question' }]],
      [reply.id, ['SENT'], [{ name: 'Subject', value: 'Re: question' }]],
    ]);
    expect(data.historyId).toBe(reply.historyId);
    expect((await failure(clients.gmail.users.threads.get({ userId: 'me', id: 'nosuchthread' }))).status).toBe(404);
  });
});

describe('Gmail watch notifications', () => {
  it('publishes one notification on watch, then on changes at most once a second, and none after stop', async () => {
    const topicName = await createTopic(projectId, 'gmail-watch');
    const subscription = await createPullSubscription(topicName);

    const { data: watch } = await clients.gmail.users.watch({ userId: 'me', requestBody: { topicName, labelIds: ['INBOX'], labelFilterBehavior: 'INCLUDE' } });
    expect(Number(watch.expiration) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    const afterWatch = await waitFor(async () => {
      const got = await pullAll(subscription);
      return got.length > 0 ? got : null;
    });
    // Production sends the history id as a JSON number.
    expect(afterWatch.map((m) => m.data)).toEqual([{ emailAddress: email, historyId: Number(watch.historyId) }]);

    // Within the same second as the watch's own notification: dropped, as Google does.
    await admin.deliverMail(email, { subject: 'dropped' });
    await new Promise((r) => setTimeout(r, 1100));
    const delivered = await admin.deliverMail(email, { subject: 'delivered' });
    for (let i = 0; i < 5; i += 1) await admin.deliverMail(email, { subject: `burst ${i}` });
    await admin.drainPushes();
    const notifications = (await pullAll(subscription)).map((m) => m.data);
    expect(notifications).toEqual([{ emailAddress: email, historyId: Number(delivered.historyId) }]);
    expect((await admin.stats()).pushes.gmailDroppedRate).toBe(6);

    await clients.gmail.users.stop({ userId: 'me' });
    await new Promise((r) => setTimeout(r, 1100));
    await admin.deliverMail(email, { subject: 'after stop' });
    await admin.drainPushes();
    expect(await pullAll(subscription)).toEqual([]);
  });

  it('stops notifying once the watch expires after 7 days', async () => {
    const topicName = await createTopic(projectId, 'gmail-expiry');
    const subscription = await createPullSubscription(topicName);
    await clients.gmail.users.watch({ userId: 'me', requestBody: { topicName } });
    await admin.drainPushes();
    await pullAll(subscription);
    await admin.advanceClock(7 * 86_400_000 + 1);
    await new Promise((r) => setTimeout(r, 1100));
    // The access token expired with the clock too: the client refreshes it on its own.
    await admin.deliverMail(email, { subject: 'too late' });
    await admin.drainPushes();
    expect(await pullAll(subscription)).toEqual([]);
  });

  it('refuses a malformed topic (400) and a missing one (404)', async () => {
    expect((await failure(clients.gmail.users.watch({ userId: 'me', requestBody: { topicName: 'gmail-watch' } }))).status).toBe(400);
    const missing = await failure(clients.gmail.users.watch({ userId: 'me', requestBody: { topicName: `projects/${projectId}/topics/nope` } }));
    expect(missing.status).toBe(404);
  });
});
