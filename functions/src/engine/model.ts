import * as z from 'zod';
import { isHistoryId } from './gmail/history-id';
import { sealedTokenSchema } from '../contracts/sealed-token';
import { gmailRuleApplySchema, storedGmailRuleSchema } from './gmail-rule-schema';
import { calendarIdSchema, calendarListChannelSchema, calendarSelectionSchema, calendarStateSchema, DEFAULT_EVENT_RULES, eventRulesSchema, PRIMARY_CALENDAR } from './calendar-model';

export * from './calendar-model';

/**
 * The domain's documents, as schemas: the store validates every Firestore document against
 * them, so the engine only ever sees well-formed values. Timestamps are `Date`s here.
 */

/** A UTF-16 surrogate without its pair: not a character, so no valid UTF-8 either. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Ids that become Firestore document ids: no slashes, no `.`/`..`, no `__reserved__`, valid Unicode. */
export const documentIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^/]+$/, 'must not contain "/"')
  .refine((id) => !LONE_SURROGATE.test(id), 'must be valid Unicode')
  .refine((id) => id !== '.' && id !== '..' && !/^__.*__$/.test(id), 'is reserved by Firestore');

export const historyIdSchema = z.string().refine(isHistoryId, 'must be a uint64 decimal string');

export const sourceStatusSchema = z.enum(['active', 'degraded', 'disconnected']);
export type SourceStatus = z.infer<typeof sourceStatusSchema>;

export const pendingSchema = z.object({
  /** Newest Gmail history id announced and not yet synced. */
  gmail: historyIdSchema.nullable().default(null),
  /** Every synced calendar is to be listed (a poll, a reconnect). */
  calendar: z.boolean().default(false),
  /** Calendars whose channel announced a change not yet synced. */
  calendars: z.array(calendarIdSchema).default([]),
});
export type Pending = z.infer<typeof pendingSchema>;
export const NO_PENDING: Pending = { gmail: null, calendar: false, calendars: [] };
/** Work a trigger announces; when a push announced it travels separately (`pushAt`). */
/** Work a trigger announces: a Gmail history id, every calendar, or (a Calendar look) some calendars. */
export type AnnouncedWork = Pick<Pending, 'gmail' | 'calendar'> & { calendars?: string[] };

/**
 * A Gmail resync in progress (history expired): the task mail is walked newest-first a page at a time,
 * and each page's progress is stored here so that the walk resumes in the next invocation.
 */
export const gmailResyncSchema = z.object({
  /** The history id read when the resync started: the cursor once the walk is done. */
  cursor: historyIdSchema,
  /** The next page of messages.list, `null` before the first page. */
  pageToken: z.string().nullable(),
  /** Messages imported so far (shown in the status reason). */
  imported: z.number().int().nonnegative(),
  startedAt: z.date(),
});
export type GmailResync = z.infer<typeof gmailResyncSchema>;

export const leaseSchema = z.object({ owner: z.string().min(1), until: z.date() });
export type Lease = z.infer<typeof leaseSchema>;

const optionalDate = z.date().nullable().default(null);
const optionalString = z.string().nullable().default(null);


export const sourceSchema = z.object({
  userId: z.string().min(1),
  email: z.string().min(1),
  status: sourceStatusSchema,
  statusReason: optionalString,
  lastSyncAt: optionalDate,
  lastPushAt: optionalDate,
  lastCheckAt: optionalDate,
  polling: z.boolean().default(false),
  consecutiveErrors: z.number().int().nonnegative().default(0),
  /** Set when Google access is revoked or a permission is missing; cleared on reconnect. */
  disconnectReason: optionalString,
  /** When a fallback poll found changes that no push had announced; cleared once pushes flow. */
  missedPushAt: optionalDate,
  /** Why the last watch renewal failed; cleared by the next successful one. */
  renewalError: optionalString,
  watchId: optionalString,
  watchExpiration: optionalDate,
  historyId: historyIdSchema.nullable().default(null),
  gmailResync: gmailResyncSchema.nullable().default(null),
  /** The owner's intake rule; `null`: the default (`inbox`), as for every source stored before rules. */
  gmailRule: storedGmailRuleSchema.nullable().default(null),
  /** A rule change being applied (the backfill walk); `null` when none is. */
  gmailRuleApply: gmailRuleApplySchema.nullable().default(null),
  calendarChannelId: optionalString,
  calendarResourceId: optionalString,
  calendarChannelExpiration: optionalDate,
  calendarSyncToken: optionalString,
  /**
   * When the stored refresh token last changed (connect, reconnect), stamped after it is
   * stored: an instance's decrypted copy opened since then is current, no need to read it again.
   */
  credentialsAt: optionalDate,
  /** How far ahead Calendar has been listed: events that enter the task window later are listed then. */
  calendarHorizon: optionalDate,
  /** When a pass last listed the primary calendar (or tried to). */
  calendarCheckedAt: optionalDate,
  /**
   * The oldest listing among the synced calendars (the epoch for one never listed), so the
   * fallback poll finds a calendar that no pass listed for a while, whatever else the source
   * received meanwhile; `null` until a Calendar pass sets it (sources stored before it).
   */
  calendarsCheckedBy: optionalDate,
  /** The state of every synced calendar other than the primary one, by Google calendar id. */
  calendars: z.record(calendarIdSchema, calendarStateSchema).default({}),
  /** The channel on the account's calendar list, while the choice can change with it (`watchesCalendarList`). */
  calendarListChannel: calendarListChannelSchema.nullable().default(null),
  /**
   * The earliest channel expiry among `calendars` and the calendar list's channel when it is
   * kept (the epoch for one missing), so the renewal query finds them; `null` when only the
   * primary calendar is synced.
   */
  otherCalendarsRenewBy: optionalDate,
  /** Which calendars sync: the primary one, every owned one, or these (ids; `primary` names the primary one). */
  calendarSelection: calendarSelectionSchema.default('primary'),
  eventRules: eventRulesSchema.default(DEFAULT_EVENT_RULES),
  pending: pendingSchema.default(NO_PENDING),
  lease: leaseSchema.nullable().default(null),
  /** When the completeness audit last checked this source, and how many audits in a row repaired something. */
  lastAuditAt: optionalDate,
  auditRepairStreak: z.number().int().nonnegative().default(0),
  /** Grows by one at every change of status, reason or polling: the version of its change event. */
  statusVersion: z.number().int().nonnegative().default(0),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type SourceData = z.infer<typeof sourceSchema>;
export type Source = SourceData & { id: string };

export const taskOriginSchema = z.enum(['gmail', 'calendar']);
export type TaskOrigin = z.infer<typeof taskOriginSchema>;

export const taskStatusSchema = z.enum(['open', 'archived', 'cancelled']);
export type TaskStatus = z.infer<typeof taskStatusSchema>;

export const taskSchema = z.object({
  sourceId: z.string().min(1),
  origin: taskOriginSchema,
  externalId: z.string().min(1),
  /** A Calendar task's calendar; absent (tasks written before calendars could be chosen): the primary one. */
  calendarId: calendarIdSchema.nullable().optional(),
  title: z.string(),
  dueAt: z.date().nullable(),
  link: z.string().nullable(),
  status: taskStatusSchema,
  /** Why a task was cancelled when that is not the event's own doing (`EXCLUDED_REASON`). */
  reason: z.string().nullable().optional(),
  /** The change's time at Google; an update older than the stored one is ignored. */
  externalUpdatedAt: z.date(),
  updatedAt: z.date(),
});
export type Task = z.infer<typeof taskSchema>;

/**
 * Deterministic, so writing the same change twice is one document. The primary calendar's
 * tasks keep the ids they always had; another calendar's carry its id (escaped: no `/`), so the
 * same event on two calendars is two tasks. Event ids never hold a `:`, so the shapes never meet.
 */
export function taskIdFor(sourceId: string, origin: TaskOrigin, externalId: string, calendarId?: string | null): string {
  if (origin === 'calendar' && calendarId != null && calendarId !== PRIMARY_CALENDAR) {
    return `${sourceId}:${origin}:${encodeURIComponent(calendarId)}:${externalId}`;
  }
  return `${sourceId}:${origin}:${externalId}`;
}

/** The primary calendar's tasks carry its key, or nothing (older ones). */
export function taskCalendar(task: Pick<Task, 'calendarId'>): string {
  return task.calendarId ?? PRIMARY_CALENDAR;
}

export const ingestionTypeSchema = z.enum(['gmail', 'calendar']);
export const ingestionTriggerSchema = z.enum(['push', 'poll', 'renewal', 'resync', 'manual']);
export type IngestionTrigger = z.infer<typeof ingestionTriggerSchema>;

export const ingestionEventSchema = z.object({
  sourceId: z.string().min(1),
  userId: z.string().min(1),
  type: ingestionTypeSchema,
  trigger: ingestionTriggerSchema,
  counts: z.record(z.string(), z.number().int().nonnegative()),
  durationMs: z.number().nonnegative(),
  outcome: z.enum(['ok', 'error', 'skipped']),
  error: z.string().nullable(),
  createdAt: z.date(),
  expireAt: z.date(),
});
export type IngestionEvent = z.infer<typeof ingestionEventSchema>;

export const channelSchema = z.object({
  sourceId: z.string().min(1),
  /** The calendar the channel watches (channels opened before calendars could be chosen: the primary one). */
  calendarId: calendarIdSchema.default(PRIMARY_CALENDAR),
  /** What it watches: a calendar's events, or the account's calendar list (its pushes re-check the choice). */
  watches: z.enum(['events', 'calendarList']).default('events'),
  resourceId: z.string().nullable().default(null),
  confirmedAt: optionalDate,
  /**
   * Message numbers seen lately, by slot (`messageNumberSlot`): a number seen again is a replay
   * and is ignored. Only exact repeats: a forged high number must not silence later ones.
   */
  recentMessageNumbers: z.record(z.string(), z.number().int().nonnegative()).default({}),
  /** Written by earlier versions (the highest number seen); read as one more seen number. */
  lastMessageNumber: z.number().int().nonnegative().default(0),
  createdAt: z.date(),
});
export type Channel = z.infer<typeof channelSchema>;
export type NewChannel = z.input<typeof channelSchema>;

/** Our Calendar channel ids are random UUIDs (crypto.randomUUID): one shape, checked before any lookup. */
export const CHANNEL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const sourceSecretSchema = z.object({
  /**
   * Envelope-encrypted refresh token (ciphertext, sealed data key, nonce, tag), base64, and
   * the key version that sealed the data key (a rotation re-wraps the older ones).
   */
  refreshToken: sealedTokenSchema.nullable().default(null),
  /** SHA-256 (hex) of each live Calendar channel's token, by channel id. */
  channelTokenHashes: z.record(z.string(), z.string()).default({}),
});
export type SourceSecret = z.infer<typeof sourceSecretSchema>;

export const auditCountsSchema = z.object({
  checked: z.number().int().nonnegative(),
  missing: z.number().int().nonnegative(),
  wrongState: z.number().int().nonnegative(),
  repaired: z.number().int().nonnegative(),
  /** Gmail quota units, or Calendar requests. */
  units: z.number().int().nonnegative(),
});
export type AuditCounts = z.infer<typeof auditCountsSchema>;

/** One completeness audit of one source (`audits/{id}`); `null` for a type that failed. */
export const auditRecordSchema = z.object({
  sourceId: z.string().min(1),
  userId: z.string().min(1),
  startedAt: z.date(),
  finishedAt: z.date(),
  gmail: auditCountsSchema.nullable(),
  calendar: auditCountsSchema.nullable(),
  expireAt: z.date(),
});
export type AuditRecord = z.infer<typeof auditRecordSchema>;
