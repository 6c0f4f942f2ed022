import { gmailRuleSchema } from '../../../functions/src/engine/gmail-rule-schema';
import { auditSource } from '../../../functions/src/engine/audit/audit';
import { auditDeps } from '../../../functions/src/entry/audit-completeness';
import { asUser } from '../../support/connect';
import { withPushesLost } from '../../support/burst';
import { registerWatch, resyncLagPassed, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { waitFor } from '../../support/wait';

let stack: EngineStack;

beforeAll(async () => {
  stack = await startEngineStack({ env: { AUDIT_GRACE_SECONDS: '0' } });
});
afterAll(() => stack.close());

type StoredTask = { id: string; status: string; externalId: string };
const tasksOf = async (userId: string): Promise<StoredTask[]> =>
  (await stack.db.collection(`users/${userId}/tasks`).get()).docs.map((d) => ({ ...(d.data() as Omit<StoredTask, 'id'>), id: d.id }));
const statusOf = async (userId: string, messageId: string) => (await tasksOf(userId)).find((t) => t.externalId === messageId)?.status ?? 'none';
/** Gmail notifies a mailbox at most once a second: each step waits for its own notification. */
const nextSecond = () => new Promise((r) => setTimeout(r, 1100));

/** Stores a rule on the source as the rules route does (tests of the route itself are separate). */
async function setRule(sourceId: string, input: unknown, version = 1): Promise<void> {
  await stack.db.doc(`sources/${sourceId}`).update({ gmailRule: { version, rule: gmailRuleSchema.parse(input), changedAt: new Date(), problem: null } });
}

describe('Gmail intake rules through the push path', () => {
  it('starred: only starred mail is a task, and the task follows the star both ways; unstarred mail publishes nothing', async () => {
    const email = 'star@example.com';
    await stack.connect('src-star', email, 'user-star');
    await setRule('src-star', { selector: { kind: 'starred' } });
    expect((await registerWatch(stack, 'src-star')).status).toBe(200);
    await nextSecond();
    const plain = await stack.admin.deliverMail(email, { subject: 'not starred' });
    expect(plain.announced).toBe(false);
    await nextSecond();
    const starred = await stack.admin.deliverMail(email, { subject: 'starred', labelIds: ['INBOX', 'STARRED'] });
    expect(starred.announced).toBe(true);
    await waitFor(async () => (await statusOf('user-star', starred.id)) === 'open');

    await nextSecond();
    await stack.admin.labelMail(email, starred.id, { remove: ['STARRED'] });
    await waitFor(async () => (await statusOf('user-star', starred.id)) === 'archived');
    await nextSecond();
    await stack.admin.labelMail(email, starred.id, { add: ['STARRED'] });
    await waitFor(async () => (await statusOf('user-star', starred.id)) === 'open');
    // Archiving out of the inbox does not matter to a starred rule; trash does.
    await nextSecond();
    await stack.admin.archiveMail(email, starred.id);
    await nextSecond();
    await stack.admin.labelMail(email, starred.id, { add: ['TRASH'] });
    await waitFor(async () => (await statusOf('user-star', starred.id)) === 'archived');
    await stack.settled('src-star');
    expect(await statusOf('user-star', plain.id)).toBe('none');
    expect((await tasksOf('user-star')).map((t) => t.externalId)).toEqual([starred.id]);
  });

  it('a user label: mail labelled later becomes a task, and the label removed archives it', async () => {
    const email = 'label@example.com';
    await stack.connect('src-label', email, 'user-label');
    const label = await stack.admin.createLabel(email, 'To do');
    await setRule('src-label', { selector: { kind: 'label', labelId: label.id } });
    expect((await registerWatch(stack, 'src-label')).status).toBe(200);
    await nextSecond();
    const mail = await stack.admin.deliverMail(email, { subject: 'label me' });
    await nextSecond();
    await stack.admin.labelMail(email, mail.id, { add: [label.id] });
    await waitFor(async () => (await statusOf('user-label', mail.id)) === 'open');
    await nextSecond();
    await stack.admin.labelMail(email, mail.id, { remove: [label.id] });
    await waitFor(async () => (await statusOf('user-label', mail.id)) === 'archived');
  });

  it('a rule whose label is deleted: its tasks are archived and the source is degraded saying so, with no retry loop', async () => {
    const email = 'gone-label@example.com';
    await stack.connect('src-gone', email, 'user-gone');
    const label = await stack.admin.createLabel(email, 'Tasks');
    await setRule('src-gone', { selector: { kind: 'label', labelId: label.id } });
    expect((await registerWatch(stack, 'src-gone')).status).toBe(200);
    await nextSecond();
    const mail = await stack.admin.deliverMail(email, { subject: 'labelled', labelIds: ['INBOX', label.id] });
    await waitFor(async () => (await statusOf('user-gone', mail.id)) === 'open');
    await nextSecond();
    await stack.admin.deleteLabel(email, label.id);
    await waitFor(async () => (await statusOf('user-gone', mail.id)) === 'archived');
    const degraded = await waitFor(async () => {
      const source = await stack.services.sources.get('src-gone');
      return source?.status === 'degraded' ? source : null;
    });
    expect(degraded.statusReason).toBe(`The Gmail label this source's rule takes tasks from (${label.id}) was deleted: choose another rule`);
    // Renewing the watch does not watch a label that is gone, and fails nothing.
    const watches = (await stack.admin.stats()).calls[email]?.['gmail.users.watch'];
    expect((await registerWatch(stack, 'src-gone')).status).toBe(200);
    expect((await stack.admin.stats()).calls[email]?.['gmail.users.watch']).toBe(watches);
    await stack.settled('src-gone');
    const after = (await stack.services.sources.get('src-gone'))!;
    expect(after).toMatchObject({ status: 'degraded', consecutiveErrors: 0, statusReason: degraded.statusReason });
  });

  it('inbox with every exclusion: categories, senders, domains, bulk headers and sent mail get no task', async () => {
    const email = 'filter@example.com';
    await stack.connect('src-filter', email, 'user-filter');
    await setRule('src-filter', {
      selector: { kind: 'inbox' },
      exclude: { categories: ['promotions'], senders: ['boss@example.org'], domains: ['news.example.net'], bulk: true, sent: true },
    });
    expect((await registerWatch(stack, 'src-filter')).status).toBe(200);
    const left = [];
    for (const mail of [
      { subject: 'sale', category: 'promotions' as const },
      { subject: 'from the boss', from: 'The Boss <Boss@Example.org>' },
      { subject: 'digest', from: 'digest@weekly.news.example.net' },
      { subject: 'newsletter', headers: [{ name: 'List-Unsubscribe', value: '<mailto:unsub@example.com>' }] },
      { subject: 'bulk', headers: [{ name: 'Precedence', value: 'bulk' }] },
    ]) {
      await nextSecond();
      left.push(await stack.admin.deliverMail(email, mail));
    }
    await nextSecond();
    left.push(await stack.admin.sendMail(email, { to: email, subject: 'note to self' }));
    await nextSecond();
    const kept = await stack.admin.deliverMail(email, { subject: 'a real request', from: 'ada@example.org', category: 'updates' });
    await waitFor(async () => (await statusOf('user-filter', kept.id)) === 'open');
    await stack.settled('src-filter');
    expect((await tasksOf('user-filter')).map((t) => t.externalId)).toEqual([kept.id]);
    // The exclusions read metadata fetched anyway: one messages.get per message, nothing more.
    const { calls } = await stack.admin.stats();
    expect(calls[email]?.['gmail.users.messages.get']).toBe(left.length + 1);
  });
});

describe('a rule change applies at once and completely', () => {
  it('imports what the new rule matches, archives what it no longer does, re-registers the watch, and loses no push that arrives meanwhile', async () => {
    const email = 'change@example.com';
    await stack.connect('src-change', email, 'user-change');
    expect((await registerWatch(stack, 'src-change')).status).toBe(200);
    await nextSecond();
    const plain = await stack.admin.deliverMail(email, { subject: 'plain' });
    const starredInInbox = await stack.admin.deliverMail(email, { subject: 'starred in the inbox', labelIds: ['INBOX', 'STARRED'] });
    const starredArchived = await stack.admin.deliverMail(email, { subject: 'starred, archived', labelIds: ['STARRED'] });
    const starredPromotion = await stack.admin.deliverMail(email, { subject: 'starred sale', labelIds: ['INBOX', 'STARRED'], category: 'promotions' });
    await waitFor(async () => (await tasksOf('user-change')).filter((t) => t.status === 'open').length === 3);
    await stack.settled('src-change');
    expect(await statusOf('user-change', starredArchived.id)).toBe('none');

    const put = await asUser(stack, 'user-change', 'rules?sourceId=src-change', { method: 'PUT', body: { selector: { kind: 'starred' }, exclude: { categories: ['promotions'] } } });
    expect(put.status).toBe(200);
    // Mail arriving while the change is applied: starred mail is a task, the rest is not.
    const during = [];
    for (let i = 0; i < 4; i += 1) {
      during.push(await stack.admin.deliverMail(email, { subject: `during ${i}`, labelIds: i % 2 === 0 ? ['INBOX', 'STARRED'] : ['INBOX'] }));
      await new Promise((r) => setTimeout(r, 150));
    }
    await stack.settled('src-change');
    const source = await waitFor(async () => {
      const s = await stack.services.sources.get('src-change');
      return s?.gmailRuleApply === null && s.lease === null ? s : null;
    });
    expect(source.gmailRule?.version).toBe(1);
    const expected = new Map([
      [plain.id, 'archived'],
      [starredInInbox.id, 'open'],
      [starredArchived.id, 'open'],
      [starredPromotion.id, 'archived'],
      [during[0]!.id, 'open'],
      [during[1]!.id, 'none'],
      [during[2]!.id, 'open'],
      [during[3]!.id, 'none'],
    ]);
    await waitFor(async () => {
      const actual = await Promise.all([...expected.keys()].map((id) => statusOf('user-change', id)));
      return actual.every((status, i) => status === [...expected.values()][i]) ? true : null;
    }, 30_000);
    // The watch now asks for STARRED only: plain mail publishes nothing.
    await nextSecond();
    expect((await stack.admin.deliverMail(email, { subject: 'after' })).announced).toBe(false);
    await stack.settled('src-change');

    // The audit lists the new rule's label: the starred promotion is there, its task archived
    // because the new rule leaves promotions out. It is not a task to reopen.
    const audited = (await stack.services.sources.get('src-change'))!;
    expect(await auditSource(auditDeps(stack.services), audited, stack.services.config.audit)).toBe(0);
    expect(await statusOf('user-change', starredPromotion.id)).toBe('archived');
  });
});

describe('the other paths ask the same rule', () => {
  const email = 'paths@example.com';
  const rule = { selector: { kind: 'starred' }, exclude: { bulk: true } };
  const newsletter = { name: 'List-Unsubscribe', value: '<mailto:u@example.com>' };

  beforeAll(async () => {
    await stack.connect('src-paths', email, 'user-paths');
    await setRule('src-paths', rule);
    expect((await registerWatch(stack, 'src-paths')).status).toBe(200);
  });

  /** Delivers a starred task mail, a starred newsletter and plain mail, with every push lost. */
  async function deliverUnannounced(tag: string) {
    const mails: Awaited<ReturnType<typeof stack.admin.deliverMail>>[] = [];
    await withPushesLost(stack.admin, async () => {
      mails.push(await stack.admin.deliverMail(email, { subject: `${tag} starred`, labelIds: ['INBOX', 'STARRED'] }));
      mails.push(await stack.admin.deliverMail(email, { subject: `${tag} starred newsletter`, labelIds: ['INBOX', 'STARRED'], headers: [newsletter] }));
      mails.push(await stack.admin.deliverMail(email, { subject: `${tag} plain` }));
    });
    return mails;
  }
  const statuses = (ids: string[]) => Promise.all(ids.map((id) => statusOf('user-paths', id)));

  it('the fallback poll (and a reconnect catch-up: the same check run)', async () => {
    const [starred, bulk, plain] = await deliverUnannounced('poll');
    await stack.services.runner.run('src-paths', { kind: 'check', trigger: 'poll', calendar: false });
    expect(await statuses([starred!.id, bulk!.id, plain!.id])).toEqual(['open', 'none', 'none']);
  });

  it('the resync after history expired', async () => {
    const [starred, bulk, plain] = await deliverUnannounced('resync');
    await stack.admin.expireHistory(email);
    // The poll begins the resync; its walk waits out the read-after-push lag, then the next poll walks.
    await stack.services.runner.run('src-paths', { kind: 'check', trigger: 'poll', calendar: false });
    await stack.settled('src-paths');
    await resyncLagPassed(stack, 'src-paths');
    await stack.services.runner.run('src-paths', { kind: 'check', trigger: 'poll', calendar: false });
    await stack.settled('src-paths');
    expect(await statuses([starred!.id, bulk!.id, plain!.id])).toEqual(['open', 'none', 'none']);
  });

  it('the completeness audit: a missing starred task is written, an unstarred one archived, the newsletter left out', async () => {
    const [starred, bulk, plain] = await deliverUnannounced('audit');
    const earlier = (await tasksOf('user-paths')).find((t) => t.status === 'open')!;
    await withPushesLost(stack.admin, () => stack.admin.labelMail(email, earlier.externalId, { remove: ['STARRED'] }));
    const source = (await stack.services.sources.get('src-paths'))!;
    const services = stack.services;
    const repaired = await auditSource(auditDeps(services), source, services.config.audit);
    expect(repaired).toBe(2);
    expect(await statuses([starred!.id, bulk!.id, plain!.id, earlier.externalId])).toEqual(['open', 'none', 'none', 'archived']);
  });
});
