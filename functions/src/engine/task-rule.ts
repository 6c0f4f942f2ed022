import type { CalendarEvent } from './calendar/ports';
import { DEFAULT_EVENT_RULES, type EventRules } from './model';

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

/** The task window: the source's own days when its rules set them, else the deployment's. */
export function calendarWindow(now: Date, rule: TaskRule, rules: Pick<EventRules, 'pastDays' | 'futureDays'> = DEFAULT_EVENT_RULES): CalendarWindow {
  const pastMs = rules.pastDays === null ? rule.calendarPastMs : rules.pastDays * DAY_MS;
  const futureMs = rules.futureDays === null ? rule.calendarFutureMs : rules.futureDays * DAY_MS;
  return { timeMin: new Date(now.getTime() - pastMs), timeMax: new Date(now.getTime() + futureMs) };
}

/** Inside the window: a single event or one instance of a recurring series. */
export function inCalendarWindow(start: Date | null, window: CalendarWindow): boolean {
  return start !== null && start >= window.timeMin && start < window.timeMax;
}

/** `exclude`: a live event the source's event rules leave out; its task, if any, is cancelled with `EXCLUDED_REASON`. */
export type EventVerdict = 'task' | 'cancel' | 'exclude' | 'ignore';

export const EXCLUDED_REASON = 'excluded by your rules';

/** Whether the source's event rules leave a live event out. */
export function excludedByRules(event: CalendarEvent, rules: EventRules): boolean {
  if ((rules.excludedTypes as readonly string[]).includes(event.eventType)) return true;
  if (!rules.allDay && event.allDay) return true;
  return rules.onlyMine && !event.mine;
}

/**
 * A live event in the window is a task; a cancelled or declined one cancels its task, if any,
 * and so does one the event rules leave out. A live event outside the window is left alone:
 * its task, if one exists, keeps its last state.
 */
export function judgeEvent(event: CalendarEvent, window: CalendarWindow, rules: EventRules = DEFAULT_EVENT_RULES): EventVerdict {
  if (event.status === 'cancelled' || event.declinedBySelf) return 'cancel';
  if (excludedByRules(event, rules)) return 'exclude';
  return inCalendarWindow(event.start, window) ? 'task' : 'ignore';
}
