import { planPage, summariseHistory } from '../../functions/src/engine/gmail/rule';
import { DEFAULT_GMAIL_RULE } from '../../functions/src/engine/gmail-rule-schema';
import { historyRecord, sourceData } from '../support/builders';
import { parseGmailNotification } from '../../functions/src/entry/gmail-push';

const record = historyRecord;

describe('summariseHistory', () => {
  it('folds records into per-message changes, ignoring non-inbox label changes', () => {
    const changes = summariseHistory(DEFAULT_GMAIL_RULE, [
      record('1', { messagesAdded: ['a', 'b'] }),
      record('2', { labelsRemoved: [{ messageId: 'a', labelIds: ['INBOX'] }] }),
      record('3', { labelsRemoved: [{ messageId: 'b', labelIds: ['UNREAD'] }] }),
      record('4', { messagesDeleted: ['c'] }),
      record('5', { labelsAdded: [{ messageId: 'd', labelIds: ['INBOX'] }] }),
    ]);
    expect(Object.fromEntries(changes)).toEqual({
      a: { added: true, ruleAdded: false, ruleRemoved: true, reread: false, deleted: false },
      b: { added: true, ruleAdded: false, ruleRemoved: false, reread: false, deleted: false },
      c: { added: false, ruleAdded: false, ruleRemoved: false, reread: false, deleted: true },
      d: { added: false, ruleAdded: true, ruleRemoved: false, reread: false, deleted: false },
    });
  });
});

describe('parseGmailNotification', () => {
  const envelope = (data: string) => ({ message: { data, messageId: '1' }, subscription: 's' });
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64');

  it('accepts Gmail\'s payload, with the history id as a string or a number', () => {
    expect(parseGmailNotification(envelope(b64({ emailAddress: 'a@example.com', historyId: '18446744073709551615' })))).toEqual({
      ok: true,
      value: { emailAddress: 'a@example.com', historyId: '18446744073709551615' },
    });
    expect(parseGmailNotification(envelope(b64({ emailAddress: 'a@example.com', historyId: 1234 })))).toMatchObject({ ok: true, value: { historyId: '1234' } });
  });

  it('keeps every digit of a numeric history id beyond 2^53 (production sends a number)', () => {
    const raw = Buffer.from('{"emailAddress":"a@example.com","historyId":18446744073709551615}').toString('base64');
    expect(parseGmailNotification(envelope(raw))).toMatchObject({ ok: true, value: { historyId: '18446744073709551615' } });
  });

  it.each([
    ['no envelope', { nope: 1 }],
    ['not base64', envelope('%%%')],
    ['not JSON', envelope(Buffer.from('not json').toString('base64'))],
    ['no email', envelope(b64({ historyId: '1' }))],
    ['negative id', envelope(b64({ emailAddress: 'a@example.com', historyId: -1 }))],
    ['id too long', envelope(b64({ emailAddress: 'a@example.com', historyId: '1'.repeat(30) }))],
    ['id above 2^64 - 1', envelope(b64({ emailAddress: 'a@example.com', historyId: '18446744073709551616' }))],
    ['twenty nines', envelope(b64({ emailAddress: 'a@example.com', historyId: '99999999999999999999' }))],
    ['numeric id above 2^64 - 1', envelope(Buffer.from('{"emailAddress":"a@example.com","historyId":18446744073709551616}').toString('base64'))],
    ['fractional id', envelope(b64({ emailAddress: 'a@example.com', historyId: 12.5 }))],
  ])('rejects %s', (_, data) => {
    expect(parseGmailNotification(data).ok).toBe(false);
  });
});

describe('planPage', () => {
  const source = { id: 'src', ...sourceData() };
  const now = new Date('2026-11-24T12:00:00Z');
  const meta = (id: string, labelIds: string[]) => ({ id, labelIds, subject: `s ${id}`, from: null, date: null, listUnsubscribe: null, precedence: null, internalDate: null });

  it('opens what is in the inbox, archives what arrived and left it, and what was deleted or is gone', () => {
    const changes = summariseHistory(DEFAULT_GMAIL_RULE, [
      record('1', { messagesAdded: ['in', 'left', 'gone'] }),
      record('2', { labelsRemoved: [{ messageId: 'old', labelIds: ['INBOX'] }] }),
      record('3', { messagesDeleted: ['deleted'] }),
    ]);
    const fetched = new Map([
      ['in', meta('in', ['INBOX'])],
      ['left', meta('left', ['CATEGORY_UPDATES'])],
      ['gone', null],
    ]);
    const plan = planPage(source, changes, fetched, now);
    expect(plan.upserts.map((t) => [t.externalId, t.status])).toEqual([
      ['in', 'open'],
      ['left', 'archived'],
    ]);
    expect(plan.archive.sort()).toEqual(['deleted', 'gone', 'old']);
    expect(plan.goneBeforeFetch).toBe(1);
  });
});
