import { calendarVerdict, gmailFetchedVerdict, gmailListedVerdict, nextRepairStreak, openTasksNotListed } from '../../functions/src/engine/audit/compare';
import type { CalendarEvent } from '../../functions/src/engine/calendar/ports';
import { DEFAULT_EVENT_RULES } from '../../functions/src/engine/model';
import { calendarEvent, gmailTask } from '../support/builders';
import { DEFAULT_GMAIL_RULE } from '../../functions/src/engine/gmail-rule-schema';

const since = new Date('2026-11-23T10:00:00Z');
const settled = new Date('2026-11-24T09:55:00Z');
const inWindow = new Date('2026-11-24T08:00:00Z');
const task = (overrides: Parameters<typeof gmailTask>[2] = {}) => gmailTask('s', 'm1', { updatedAt: inWindow, externalUpdatedAt: inWindow, ...overrides });

describe('Gmail verdicts', () => {
  test.each([
    ['no task', undefined, 'missing'],
    ['an open task', task(), 'ok'],
    ['an archived task for a message in INBOX', task({ status: 'archived' }), 'reopen'],
    ['a task written before the window (the message is older still)', task({ updatedAt: new Date('2026-11-20T00:00:00Z') }), 'older'],
  ])('listed in INBOX with %s → %s', (_, stored, expected) => {
    expect(gmailListedVerdict(stored, since)).toBe(expected);
  });

  test.each([
    ['deleted meanwhile', null, 'skip'],
    ['archived meanwhile', { labelIds: ['UNREAD'], internalDate: inWindow }, 'skip'],
    ['received in the window', { labelIds: ['INBOX'], internalDate: inWindow }, 'missing'],
    ['received before the window', { labelIds: ['INBOX'], internalDate: new Date('2026-11-01T00:00:00Z') }, 'older'],
    ['received in the grace period (a sync may be on its way)', { labelIds: ['INBOX'], internalDate: new Date('2026-11-24T09:59:00Z') }, 'skip'],
  ])('an unknown message %s → %s', (_, meta, expected) => {
    expect(gmailFetchedVerdict(DEFAULT_GMAIL_RULE, meta === null ? null : { from: null, listUnsubscribe: null, precedence: null, ...meta }, since, settled)).toBe(expected);
  });

  test('open tasks the INBOX listing did not show, except ones written in the grace period', () => {
    const open = [task(), gmailTask('s', 'm2', { updatedAt: inWindow }), gmailTask('s', 'm3', { updatedAt: new Date('2026-11-24T09:58:00Z') })];
    expect(openTasksNotListed(open, new Set(['m1']), settled).map((t) => t.externalId)).toEqual(['m2']);
  });
});

describe('Calendar verdicts', () => {
  const event = (overrides: Partial<CalendarEvent> = {}): CalendarEvent =>
    calendarEvent({ summary: 'x', start: new Date('2026-11-30T10:00:00Z'), updated: inWindow, ...overrides });
  // The task rule's window: events starting outside it are not tasks.
  const taskWindow = { timeMin: new Date('2026-11-17T10:00:00Z'), timeMax: new Date('2026-12-24T10:00:00Z') };
  const calendarTask = (overrides: Parameters<typeof gmailTask>[2] = {}) => task({ origin: 'calendar', externalId: 'e1', ...overrides });

  test.each([
    ['a live event without a task', event(), undefined, 'missing'],
    ['a live event with its task', event(), calendarTask(), 'ok'],
    ['a moved event whose task is older', event({ updated: new Date('2026-11-24T09:00:00Z') }), calendarTask(), 'stale'],
    ['a live event whose task is cancelled', event(), calendarTask({ status: 'cancelled' }), 'stale'],
    ['a cancelled event whose task is open', event({ status: 'cancelled' }), calendarTask(), 'cancel'],
    ['a cancelled event whose task is cancelled', event({ status: 'cancelled' }), calendarTask({ status: 'cancelled' }), 'ok'],
    ['a cancelled event we never had', event({ status: 'cancelled' }), undefined, 'ok'],
    ['an event changed in the grace period', event({ updated: new Date('2026-11-24T09:59:00Z') }), undefined, 'skip'],
    ['a live event outside the task window', event({ start: new Date('2027-03-01T10:00:00Z') }), undefined, 'skip'],
    ['a declined invitation whose task is open', event({ declinedBySelf: true }), calendarTask(), 'cancel'],
  ])('%s', (_, e, stored, expected) => {
    expect(calendarVerdict(e, stored, settled, taskWindow, DEFAULT_EVENT_RULES)).toBe(expected);
  });
});

test('the repair streak counts consecutive audits that repaired something', () => {
  expect([nextRepairStreak(0, 0), nextRepairStreak(0, 3), nextRepairStreak(1, 1), nextRepairStreak(2, 0)]).toEqual([0, 1, 2, 0]);
});
