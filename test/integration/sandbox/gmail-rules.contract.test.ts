import type { CreatedAccount } from '../../../sandbox/src/admin-client';
import { failure, officialClients } from '../../support/google-clients';
import { useSandbox } from '../../support/sandbox-fixture';
import { createPullSubscription, createTopic, pullAll, uniqueProjectId } from '../../support/pubsub';

/** What Gmail intake rules read: labels, categories, bulk headers, sent mail and filtered watches. */

const projectId = uniqueProjectId();
const email = 'rules@example.com';
let account: CreatedAccount;
let clients: ReturnType<typeof officialClients>;

// Every change may notify: the once-a-second limit is pinned by gmail.contract.test.ts.
const running = useSandbox({ pubsubEmulatorHost: process.env.PUBSUB_EMULATOR_HOST, gmailPushMinIntervalMs: 0 });
beforeEach(async () => {
  await running.admin.reset();
  account = await running.admin.createAccount(email);
  clients = officialClients(running.sandbox.url, account);
});

describe('Gmail labels', () => {
  it('lists system labels and created user labels with their visibility; labels.get counts; a deleted label is gone from its messages', async () => {
    const receipts = await running.admin.createLabel(email, 'Receipts');
    expect(receipts.id).toMatch(/^Label_\d+$/);
    await expect(running.admin.createLabel(email, 'receipts')).rejects.toThrow(/409/);
    const { data: profile } = await clients.gmail.users.getProfile({ userId: 'me' });
    const tagged = await running.admin.deliverMail(email, { subject: 'invoice', labelIds: ['INBOX', 'UNREAD', receipts.id] });

    const { data } = await clients.gmail.users.labels.list({ userId: 'me' });
    const byId = new Map(data.labels!.map((l) => [l.id, l]));
    expect(byId.get('INBOX')).toEqual({ id: 'INBOX', name: 'INBOX', type: 'system' });
    expect(byId.get('CATEGORY_PROMOTIONS')).toMatchObject({ type: 'system' });
    expect(byId.get(receipts.id)).toEqual({ id: receipts.id, name: 'Receipts', type: 'user', messageListVisibility: 'show', labelListVisibility: 'labelShow' });
    const got = await clients.gmail.users.labels.get({ userId: 'me', id: receipts.id });
    expect(got.data).toMatchObject({ name: 'Receipts', messagesTotal: 1, messagesUnread: 1, threadsTotal: 1, threadsUnread: 1 });

    await running.admin.deleteLabel(email, receipts.id);
    expect((await failure(clients.gmail.users.labels.get({ userId: 'me', id: receipts.id }))).status).toBe(404);
    const message = await clients.gmail.users.messages.get({ userId: 'me', id: tagged.id, format: 'minimal' });
    expect(message.data.labelIds).not.toContain(receipts.id);
    const removed = await clients.gmail.users.history.list({ userId: 'me', startHistoryId: profile.historyId!, historyTypes: ['labelRemoved'] });
    expect(removed.data.history!.map((h) => h.labelsRemoved![0]!.labelIds)).toEqual([[receipts.id]]);
  });

  it('history.list with labelId lists the records of messages that carried the label before or after the change', async () => {
    const { data: profile } = await clients.gmail.users.getProfile({ userId: 'me' });
    const starred = await running.admin.deliverMail(email, { subject: 'important' });
    await running.admin.deliverMail(email, { subject: 'plain' });
    await running.admin.labelMail(email, starred.id, { add: ['STARRED'] });
    await running.admin.labelMail(email, starred.id, { remove: ['STARRED'] });
    const { data } = await clients.gmail.users.history.list({ userId: 'me', startHistoryId: profile.historyId!, labelId: 'STARRED' });
    expect(data.history!.map((h) => [Object.keys(h).find((k) => k.startsWith('labels')), h.messages![0]!.id])).toEqual([
      ['labelsAdded', starred.id],
      ['labelsRemoved', starred.id],
    ]);
  });
});

describe('Gmail message metadata', () => {
  it('carries the inbox category label and returns List-Unsubscribe and Precedence for metadataHeaders, matched case-insensitively', async () => {
    const bulk = await running.admin.deliverMail(email, {
      subject: 'Weekly deals',
      from: 'Shop <news@shop.example>',
      category: 'promotions',
      headers: [
        { name: 'List-Unsubscribe', value: '<mailto:unsubscribe@shop.example>, <https://shop.example/u>' },
        { name: 'Precedence', value: 'bulk' },
      ],
    });
    const { data } = await clients.gmail.users.messages.get({ userId: 'me', id: bulk.id, format: 'metadata', metadataHeaders: ['From', 'list-unsubscribe', 'Precedence'] });
    expect(data.labelIds).toEqual(['INBOX', 'UNREAD', 'CATEGORY_PROMOTIONS']);
    expect(data.payload!.headers).toEqual([
      { name: 'From', value: 'Shop <news@shop.example>' },
      { name: 'List-Unsubscribe', value: '<mailto:unsubscribe@shop.example>, <https://shop.example/u>' },
      { name: 'Precedence', value: 'bulk' },
    ]);
    const listed = await clients.gmail.users.messages.list({ userId: 'me', labelIds: ['CATEGORY_PROMOTIONS'] });
    expect(listed.data.messages!.map((m) => m.id)).toEqual([bulk.id]);
  });

  it('mail the account sends is SENT and From the account; mail to itself is also in its inbox', async () => {
    const out = await running.admin.sendMail(email, { to: 'Grace <grace@example.com>', subject: 'hello' });
    const self = await running.admin.sendMail(email, { to: email, subject: 'note to self' });
    const get = (id: string) => clients.gmail.users.messages.get({ userId: 'me', id, format: 'metadata', metadataHeaders: ['From', 'To'] });
    const sent = (await get(out.id)).data;
    expect(sent.labelIds).toEqual(['SENT']);
    expect(sent.payload!.headers).toEqual([
      { name: 'From', value: email },
      { name: 'To', value: 'Grace <grace@example.com>' },
    ]);
    expect((await get(self.id)).data.labelIds).toEqual(['SENT', 'INBOX', 'UNREAD']);
  });
});

describe('Gmail watch label filters', () => {
  async function watched(requestBody: { labelIds?: string[]; labelFilterBehavior?: string; labelFilterAction?: string }) {
    const topicName = await createTopic(projectId, `rules-${Math.random().toString(36).slice(2, 8)}`);
    const subscription = await createPullSubscription(topicName);
    await clients.gmail.users.watch({ userId: 'me', requestBody: { topicName, ...requestBody } });
    await running.admin.drainPushes();
    await pullAll(subscription);
    return async () => {
      await running.admin.drainPushes();
      return (await pullAll(subscription)).length;
    };
  }

  it('include: only changes to messages carrying a watched label, before or after, notify', async () => {
    const notified = await watched({ labelIds: ['STARRED'], labelFilterBehavior: 'include' });
    const mail = await running.admin.deliverMail(email, { subject: 'not starred' });
    expect(await notified()).toBe(0);
    await running.admin.labelMail(email, mail.id, { add: ['STARRED'] });
    expect(await notified()).toBe(1);
    await running.admin.labelMail(email, mail.id, { remove: ['UNREAD'] });
    expect(await notified()).toBe(1);
    await running.admin.labelMail(email, mail.id, { remove: ['STARRED'] });
    expect(await notified()).toBe(1);
    await running.admin.labelMail(email, mail.id, { remove: ['INBOX'] });
    expect(await notified()).toBe(0);
  });

  it('exclude: every change but those to messages carrying an excluded label notifies; labelFilterBehavior overrides labelFilterAction', async () => {
    const notified = await watched({ labelIds: ['CATEGORY_PROMOTIONS', 'SPAM'], labelFilterBehavior: 'EXCLUDE', labelFilterAction: 'include' });
    await running.admin.deliverMail(email, { subject: 'deal', category: 'promotions' });
    await running.admin.deliverMail(email, { subject: 'spam', labelIds: ['SPAM'] });
    expect(await notified()).toBe(0);
    await running.admin.deliverMail(email, { subject: 'from a friend' });
    expect(await notified()).toBe(1);
    expect((await running.admin.account(email)).gmailWatch).toMatchObject({ labelIds: ['CATEGORY_PROMOTIONS', 'SPAM'], behavior: 'exclude' });
  });
});
