import { DEFAULT_GMAIL_RULE, gmailRuleSchema, type GmailRule } from '../../functions/src/engine/gmail-rule-schema';
import { decidingLabel, historyFilter, matches, planPage, ruleOf, senderAddress, summariseHistory, watchLabels } from '../../functions/src/engine/gmail/rule';
import type { GmailMessageMetadata } from '../../functions/src/engine/gmail/ports';
import { sourceSchema, type Source } from '../../functions/src/engine/model';
import { outstanding } from '../../functions/src/engine/source/lease';
import { ruleApplyProgressed, ruleReplaced } from '../../functions/src/engine/source/rule-decisions';
import { historyRecord, sourceData } from '../support/builders';

const rule = (input: unknown): GmailRule => gmailRuleSchema.parse(input);
const meta = (labelIds: string[], extra: Partial<GmailMessageMetadata> = {}): GmailMessageMetadata => ({
  id: 'm',
  labelIds,
  subject: 's',
  from: 'Grace <grace@example.com>',
  date: null,
  listUnsubscribe: null,
  precedence: null,
  internalDate: null,
  ...extra,
});

describe('the rule schema', () => {
  it('fills the exclusions in and lowers addresses and domains', () => {
    expect(rule({ selector: { kind: 'starred' }, exclude: { senders: [' News@Example.COM '], domains: ['Lists.Example.org'] } })).toEqual({
      selector: { kind: 'starred' },
      exclude: { categories: [], senders: ['news@example.com'], domains: ['lists.example.org'], bulk: false, sent: false },
    });
  });

  it('names every problem at once', () => {
    const parsed = gmailRuleSchema.safeParse({
      selector: { kind: 'label', labelId: 'no spaces please' },
      exclude: { categories: ['junk'], senders: ['not-an-address'], domains: ['-bad-.com'], bulk: 'yes' },
    });
    expect(parsed.success).toBe(false);
    const paths = parsed.error!.issues.map((i) => i.path.join('.')).sort();
    expect(paths).toEqual(['exclude.bulk', 'exclude.categories.0', 'exclude.domains.0', 'exclude.senders.0', 'selector.labelId']);
  });

  it('refuses more than 100 exclusions, and takes 100', () => {
    const senders = (n: number) => Array.from({ length: n }, (_, i) => `s${i}@example.com`);
    expect(gmailRuleSchema.safeParse({ selector: { kind: 'inbox' }, exclude: { senders: senders(99), categories: ['social'] } }).success).toBe(true);
    const over = gmailRuleSchema.safeParse({ selector: { kind: 'inbox' }, exclude: { senders: senders(100), categories: ['social'] } });
    expect(over.error?.issues.map((i) => i.message)).toEqual([expect.stringContaining('at most 100 exclusions')]);
  });

  it('reads a source stored before rules as the inbox rule, version 0', () => {
    const stored = sourceSchema.parse(sourceData());
    expect(stored.gmailRule).toBeNull();
    expect(ruleOf(stored)).toEqual(DEFAULT_GMAIL_RULE);
  });
});

describe('matches', () => {
  it.each([
    [{ kind: 'inbox' }, 'INBOX'],
    [{ kind: 'starred' }, 'STARRED'],
    [{ kind: 'important' }, 'IMPORTANT'],
    [{ kind: 'label', labelId: 'Label_7' }, 'Label_7'],
  ])('selector %j decides by %s, for history, the watch and the match', (selector, label) => {
    const r = rule({ selector });
    expect(decidingLabel(r)).toBe(label);
    expect(watchLabels(r)).toEqual([label]);
    expect(historyFilter(label).labelId).toBe(label);
    expect(matches(r, meta([label]))).toBe(true);
    expect(matches(r, meta(['UNREAD', ...(label === 'INBOX' ? [] : ['INBOX'])]))).toBe(false);
    expect(matches(r, meta([label, 'TRASH']))).toBe(false);
    expect(matches(r, meta([label, 'SPAM']))).toBe(false);
  });

  it.each([
    ['a category', { categories: ['promotions'] }, meta(['INBOX', 'CATEGORY_PROMOTIONS']), meta(['INBOX', 'CATEGORY_UPDATES'])],
    ['a sender', { senders: ['grace@example.com'] }, meta(['INBOX']), meta(['INBOX'], { from: 'ada@example.com' })],
    ['a domain and its subdomains', { domains: ['example.com'] }, meta(['INBOX'], { from: 'x <a@news.example.com>' }), meta(['INBOX'], { from: 'a@notexample.com' })],
    ['bulk by List-Unsubscribe', { bulk: true }, meta(['INBOX'], { listUnsubscribe: '<mailto:u@example.com>' }), meta(['INBOX'])],
    ['bulk by Precedence', { bulk: true }, meta(['INBOX'], { precedence: ' Bulk ' }), meta(['INBOX'], { precedence: 'first-class' })],
    ['bulk by Precedence list', { bulk: true }, meta(['INBOX'], { precedence: 'list' }), meta(['INBOX'], { listUnsubscribe: null })],
    ['mail the account sent', { sent: true }, meta(['INBOX', 'SENT']), meta(['INBOX'])],
  ])('excludes %s', (_, exclude, left, kept) => {
    const r = rule({ selector: { kind: 'inbox' }, exclude });
    expect(matches(r, left)).toBe(false);
    expect(matches(r, kept)).toBe(true);
    // Without the exclusion, both are task mail.
    expect(matches(DEFAULT_GMAIL_RULE, left)).toBe(true);
  });

  it('reads the address out of a From header', () => {
    expect(senderAddress('"Doe, J" <J.Doe@Example.com>')).toBe('j.doe@example.com');
    expect(senderAddress('plain@example.com')).toBe('plain@example.com');
    expect(senderAddress('no address')).toBeNull();
    expect(senderAddress(null)).toBeNull();
  });
});

describe('a page of history under a rule', () => {
  const starredSource = {
    id: 'src',
    ...sourceData(),
    gmailRule: { version: 2, rule: rule({ selector: { kind: 'starred' }, exclude: { categories: ['social'] } }), changedAt: new Date(), problem: null },
  };
  const now = new Date('2026-11-24T12:00:00Z');
  const record = historyRecord;

  it('follows the rule both ways: unstarred or trashed archives, starred again reopens, an excluded new mail gets no task', () => {
    const changes = summariseHistory(ruleOf(starredSource), [
      record('1', { labelsAdded: [{ messageId: 'starred', labelIds: ['STARRED'] }] }),
      record('2', { labelsRemoved: [{ messageId: 'unstarred', labelIds: ['STARRED'] }, { messageId: 'inbox-only', labelIds: ['INBOX'] }] }),
      record('3', { labelsAdded: [{ messageId: 'trashed', labelIds: ['TRASH'] }, { messageId: 'social', labelIds: ['CATEGORY_SOCIAL'] }] }),
      record('4', { messagesAdded: ['newsletter'] }),
    ]);
    expect([...changes.keys()].sort()).toEqual(['newsletter', 'social', 'starred', 'trashed', 'unstarred']);
    const fetched = new Map([
      ['starred', meta(['STARRED'], { id: 'starred' })],
      ['trashed', meta(['STARRED', 'TRASH'], { id: 'trashed' })],
      ['social', meta(['STARRED', 'CATEGORY_SOCIAL'], { id: 'social' })],
      ['newsletter', meta(['STARRED', 'CATEGORY_SOCIAL'], { id: 'newsletter' })],
    ]);
    const plan = planPage(starredSource, changes, fetched, now);
    expect(plan.upserts.map((t) => [t.externalId, t.status])).toEqual([['starred', 'open']]);
    expect(plan.archive.sort()).toEqual(['newsletter', 'social', 'trashed', 'unstarred']);
  });
});

describe('a rule change as decisions', () => {
  const now = new Date('2026-11-24T12:00:00Z');
  const derive = (_: unknown, after: Source) => after;
  const base: Source = { id: 'src', ...sourceSchema.parse(sourceData({ historyId: '500' })) };
  const starred = rule({ selector: { kind: 'starred' } });

  it('replacing goes one version up and makes the change pending Gmail work until applied', () => {
    const once = ruleReplaced(starred, now)(base, derive).result;
    const twice = ruleReplaced(DEFAULT_GMAIL_RULE, now)(once, derive).result;
    expect([once.gmailRule?.version, twice.gmailRule?.version]).toEqual([1, 2]);
    expect(twice.gmailRuleApply).toEqual({ version: 2, phase: 'walk', cursor: null, pageToken: null, imported: 0, startedAt: now });
    expect(outstanding(twice, new Date()).gmail).toBe('501');
    expect(outstanding({ ...twice, gmailRuleApply: null }, new Date()).gmail).toBeNull();
    // Never synced: nothing to apply to.
    expect(ruleReplaced(starred, now)({ ...base, historyId: null }, derive).result.gmailRuleApply).toBeNull();
  });

  it("an older change's progress is dropped once a newer rule replaced it", () => {
    const held = { ...ruleReplaced(starred, now)(base, derive).result, lease: { owner: 'run', until: new Date(now.getTime() + 60_000) } };
    const progress = { version: 1, phase: 'walk' as const, cursor: '900', pageToken: 'p2', imported: 3, startedAt: now };
    expect(ruleApplyProgressed('run', 1, progress, now, 60_000)(held, derive)).toMatchObject({ result: true, patch: { gmailRuleApply: progress } });
    // Applied: the cursor moves to where the walk began (never back).
    expect(ruleApplyProgressed('run', 1, null, now, 60_000, '900')(held, derive).patch).toMatchObject({ gmailRuleApply: null, historyId: '900' });
    expect(ruleApplyProgressed('run', 1, null, now, 60_000, '400')(held, derive).patch).not.toHaveProperty('historyId');
    const newer = ruleReplaced(DEFAULT_GMAIL_RULE, now)(held, derive).result;
    expect(ruleApplyProgressed('run', 1, progress, now, 60_000)(newer, derive)).toEqual({ patch: null, result: false });
    expect(() => ruleApplyProgressed('other', 2, null, now, 60_000)(newer, derive)).toThrow();
  });
});
