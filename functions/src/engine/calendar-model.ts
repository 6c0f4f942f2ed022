import * as z from 'zod';

/**
 * The schemas of a source's calendars: which ones it syncs, each one's state, and the event
 * rules that decide which of their events become tasks.
 */

const optionalDate = z.date().nullable().default(null);
const optionalString = z.string().nullable().default(null);

/** The primary calendar's key. Its state stays in the source's flat `calendar*` fields (every version reads them). */
export const PRIMARY_CALENDAR = 'primary';

/** Google's calendar ids: an address-like string (`…@group.calendar.google.com`), or `primary`. */
export const calendarIdSchema = z.string().min(1).max(512);

export const MAX_SELECTED_CALENDARS = 25;
export const calendarSelectionSchema = z.union([z.enum(['primary', 'owned']), z.array(calendarIdSchema).min(1).max(MAX_SELECTED_CALENDARS)]);
export type CalendarSelection = z.infer<typeof calendarSelectionSchema>;

/** Google's event types; `default` is an ordinary event and is always a task. */
export const EXCLUDABLE_EVENT_TYPES = ['birthday', 'workingLocation', 'fromGmail', 'outOfOffice', 'focusTime'] as const;
export const excludableEventTypeSchema = z.enum(EXCLUDABLE_EVENT_TYPES);

/** Which of a calendar's events become tasks (README, "What becomes a task"). */
export const eventRulesSchema = z.object({
  excludedTypes: z.array(excludableEventTypeSchema).default(['birthday', 'workingLocation', 'fromGmail']),
  allDay: z.boolean().default(true),
  /** Only events the account organizes or has accepted. */
  onlyMine: z.boolean().default(false),
  /** The task window in days; `null`: the deployment's (CALENDAR_PAST_DAYS / CALENDAR_FUTURE_DAYS). */
  pastDays: z.number().int().min(0).max(365).nullable().default(null),
  futureDays: z.number().int().min(1).max(365).nullable().default(null),
});
export type EventRules = z.infer<typeof eventRulesSchema>;
export const DEFAULT_EVENT_RULES: EventRules = eventRulesSchema.parse({});

/** One synced calendar's own channel, cursor and task window progress. */
export const calendarStateSchema = z.object({
  channelId: optionalString,
  resourceId: optionalString,
  channelExpiration: optionalDate,
  syncToken: optionalString,
  /** How far ahead this calendar has been listed. */
  horizon: optionalDate,
  /** Failed passes in a row (the primary calendar's count in the source's `consecutiveErrors`). */
  syncErrors: z.number().int().nonnegative().default(0),
  /** When a pass last listed this calendar (or tried to): the fallback poll lists it once this is old. */
  checkedAt: optionalDate,
});
export type CalendarState = z.infer<typeof calendarStateSchema>;

/**
 * The channel on the account's calendar list (`calendarList.watch`), kept while the source's
 * choice can change with that list: a calendar leaving it, or a new owned one, is noticed at once.
 */
export const calendarListChannelSchema = z.object({ id: z.string().min(1), resourceId: z.string().min(1), expiration: z.date() });
export type CalendarListChannel = z.infer<typeof calendarListChannelSchema>;
