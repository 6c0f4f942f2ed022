import type { CalendarEvent } from '../../functions/src/engine/calendar/ports';
import { calendarWindow, DEFAULT_TASK_RULE, judgeEvent } from '../../functions/src/engine/task-rule';
import { calendarEvent } from '../support/builders';

const now = new Date('2026-11-24T12:00:00Z');
const DAY = 86_400_000;
const window = calendarWindow(now, DEFAULT_TASK_RULE);
const event = (overrides: Partial<CalendarEvent>): CalendarEvent => calendarEvent({ start: new Date(now.getTime() + DAY), updated: now, ...overrides });

describe('the calendar task rule', () => {
  it.each([
    ['an event tomorrow', event({}), 'task'],
    ['an event that started 6 days ago', event({ start: new Date(now.getTime() - 6 * DAY) }), 'task'],
    ['an event that started exactly 7 days ago (the window includes its start)', event({ start: new Date(now.getTime() - 7 * DAY) }), 'task'],
    ['an event that started 8 days ago', event({ start: new Date(now.getTime() - 8 * DAY) }), 'ignore'],
    ['an event exactly 30 days ahead (the window excludes its end)', event({ start: new Date(now.getTime() + 30 * DAY) }), 'ignore'],
    ['an event with no start', event({ start: null }), 'ignore'],
    ['a cancelled event, even far ahead', event({ status: 'cancelled', start: new Date(now.getTime() + 400 * DAY) }), 'cancel'],
    ['a declined invitation tomorrow', event({ declinedBySelf: true }), 'cancel'],
    ['a tentative event', event({ status: 'tentative' }), 'task'],
  ])('%s → %s', (_, e, verdict) => {
    expect(judgeEvent(e, window)).toBe(verdict);
  });
});
