import type { CalendarEvent } from './calendar/ports';

/**
 * Which mails and events become tasks (README, "What becomes a task"). One rule, applied the
 * same way by every path (push, poll, full sync, resync), so that when an item arrived or
 * when the source was connected never decides whether it is a task.
 */

export interface TaskRule {
  /** Events that started up to this long ago are tasks. */
  calendarPastMs: number;
  /** Events that start up to this far ahead are tasks (bounds endless recurring series). */
  calendarFutureMs: number;
  /** A Gmail resync walks the inbox no further back than this. */
  gmailResyncMaxAgeMs: number;
  /** A change of a source's Gmail intake rule imports matching mail this far back. */
  gmailRuleBackfillMs: number;
}

const DAY_MS = 24 * 3_600_000;

export const DEFAULT_TASK_RULE: TaskRule = { calendarPastMs: 7 * DAY_MS, calendarFutureMs: 30 * DAY_MS, gmailResyncMaxAgeMs: 30 * DAY_MS, gmailRuleBackfillMs: 14 * DAY_MS };

export interface CalendarWindow {
  timeMin: Date;
  timeMax: Date;
}

export function calendarWindow(now: Date, rule: TaskRule): CalendarWindow {
  return { timeMin: new Date(now.getTime() - rule.calendarPastMs), timeMax: new Date(now.getTime() + rule.calendarFutureMs) };
}

/** Inside the window: a single event or one instance of a recurring series. */
export function inCalendarWindow(start: Date | null, window: CalendarWindow): boolean {
  return start !== null && start >= window.timeMin && start < window.timeMax;
}

export type EventVerdict = 'task' | 'cancel' | 'ignore';

/**
 * A live event in the window is a task; a cancelled or declined one cancels its task, if any.
 * A live event outside the window is left alone: its task, if one exists, keeps its last state.
 */
export function judgeEvent(event: CalendarEvent, window: CalendarWindow): EventVerdict {
  if (event.status === 'cancelled' || event.declinedBySelf) return 'cancel';
  return inCalendarWindow(event.start, window) ? 'task' : 'ignore';
}
