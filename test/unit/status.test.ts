import { deriveStatus, missedPushAfterRun } from '../../functions/src/engine/source/status';
import { DEFAULT_GMAIL_RULE, type GmailRuleApply, type StoredGmailRule } from '../../functions/src/engine/gmail-rule-schema';

const now = new Date('2026-11-24T12:00:00Z');
const healthy = {
  disconnectReason: null,
  consecutiveErrors: 0,
  watchExpiration: new Date('2026-11-30T00:00:00Z'),
  calendarChannelExpiration: new Date('2026-11-30T00:00:00Z'),
  missedPushAt: null,
  renewalError: null,
  lastPushAt: new Date('2026-11-24T11:59:00Z'),
  lastCheckAt: new Date('2026-11-24T11:59:00Z'),
  gmailResync: null,
  gmailRule: null as StoredGmailRule | null,
  gmailRuleApply: null as GmailRuleApply | null,
};
const rule = { version: 3, rule: DEFAULT_GMAIL_RULE, changedAt: now, problem: null };
const resyncing = { cursor: '5000', pageToken: 'p2', imported: 100, startedAt: new Date('2026-11-24T11:57:00Z') };
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);

describe('deriveStatus', () => {
  it.each([
    ['a live watch and no errors', healthy, 'active'],
    ['a disconnect reason', { ...healthy, disconnectReason: 'revoked' }, 'disconnected'],
    ['three errors in a row', { ...healthy, consecutiveErrors: 3 }, 'degraded'],
    ['two errors in a row', { ...healthy, consecutiveErrors: 2 }, 'active'],
    ['no watch', { ...healthy, watchExpiration: null }, 'degraded'],
    ['a watch expiring exactly now', { ...healthy, watchExpiration: now }, 'degraded'],
    ['a poll that found changes no push announced', { ...healthy, missedPushAt: new Date('2026-11-24T11:58:00Z') }, 'degraded'],
    ['a failed renewal', { ...healthy, renewalError: 'rate-limited' }, 'degraded'],
    ['no calendar channel', { ...healthy, calendarChannelExpiration: null }, 'degraded'],
    ['a calendar channel expiring exactly now', { ...healthy, calendarChannelExpiration: now }, 'degraded'],
    ['a calendar channel expiring in a second', { ...healthy, calendarChannelExpiration: new Date(now.getTime() + 1000) }, 'active'],
    ['revoked while erroring', { ...healthy, disconnectReason: 'revoked', consecutiveErrors: 9 }, 'disconnected'],
    ['exactly 10 min without a push, checked since', { ...healthy, lastPushAt: minutesAgo(10), lastCheckAt: minutesAgo(1) }, 'active'],
    ['exactly 10 min without a push or a check (the poll is due, not late)', { ...healthy, lastPushAt: minutesAgo(10), lastCheckAt: minutesAgo(10) }, 'active'],
    ['just under 20 min without a push or a check', { ...healthy, lastPushAt: new Date(minutesAgo(20).getTime() + 1), lastCheckAt: minutesAgo(25) }, 'active'],
    ['exactly 20 min without a push or a check (the poll is not running)', { ...healthy, lastPushAt: minutesAgo(20), lastCheckAt: minutesAgo(20) }, 'degraded'],
    ['never pushed nor checked', { ...healthy, lastPushAt: null, lastCheckAt: null }, 'degraded'],
    ['a Gmail resync still walking the inbox', { ...healthy, gmailResync: resyncing }, 'degraded'],
    ['a rule of its owner', { ...healthy, gmailRule: rule }, 'active'],
    ['a rule change being applied', { ...healthy, gmailRuleApply: { version: 2, phase: 'walk' as const, cursor: null, pageToken: null, imported: 12, startedAt: now } }, 'degraded'],
    ['a rule whose label was deleted', { ...healthy, gmailRule: { ...rule, problem: 'label deleted' } }, 'degraded'],
  ])('%s → %s', (_, source, status) => {
    const derived = deriveStatus(source, now);
    expect(derived.status).toBe(status);
    expect(derived.statusReason === null).toBe(status === 'active');
  });

  it.each([
    ['an expired watch', { ...healthy, watchExpiration: now }, true],
    ['a missed push', { ...healthy, missedPushAt: now }, true],
    ['repeated errors with live watches', { ...healthy, consecutiveErrors: 5 }, false],
    ['a disconnected source with no watch', { ...healthy, disconnectReason: 'revoked', watchExpiration: null }, false],
    ['a healthy source', healthy, false],
  ])('polling banner for %s: %s', (_, source, polling) => {
    expect(deriveStatus(source, now).polling).toBe(polling);
  });
});

describe('missedPushAfterRun', () => {
  const setAt = minutesAgo(6);
  it.each([
    ['a poll that found changes sets it', null, { trigger: 'poll', changed: true }, now],
    ['a push clears it', setAt, { trigger: 'push', changed: false }, null],
    ['a quiet poll half an interval later clears it (a quiet mailbox recovers)', setAt, { trigger: 'poll', changed: false }, null],
    ['a quiet poll right after it was set keeps it (the other half of the same poll)', minutesAgo(0.1), { trigger: 'poll', changed: false }, minutesAgo(0.1)],
    ['a renewal keeps it', setAt, { trigger: 'renewal', changed: true }, setAt],
  ])('%s', (_, previous, run, expected) => {
    expect(missedPushAfterRun(previous, run, now)).toEqual(expected);
  });
});
