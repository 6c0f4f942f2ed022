import * as z from 'zod';

/**
 * The change stream's events: what a host app receives on the `task-changes` topic. Each is a
 * CloudEvent (structured JSON, spec 1.0) in the message's data. The types carry their version
 * (`.v1`): a field is only ever added; a change that would break a consumer is a new type.
 * Dependency-free apart from zod, so the client package re-exports these very schemas.
 */

export const TASK_CHANGED = 'dev.pushsync.task.changed.v1';
export const SOURCE_STATUS_CHANGED = 'dev.pushsync.source.status.v1';

const isoTime = z.iso.datetime();

/** One task as it is after the change, with its version (grows by one at every change). */
export const taskChangeSchema = z.object({
  userId: z.string().min(1),
  sourceId: z.string().min(1),
  taskId: z.string().min(1),
  origin: z.enum(['gmail', 'calendar']),
  externalId: z.string().min(1),
  title: z.string(),
  dueAt: isoTime.nullable(),
  link: z.string().nullable(),
  status: z.enum(['open', 'archived', 'cancelled']),
  /** Only grows per task: drop a delivery whose version is not above the one you hold. */
  version: z.number().int().positive(),
  /** `created`, `updated` (title, due time or link), or `status` (moved to another status). */
  change: z.enum(['created', 'updated', 'status']),
});
export type TaskChange = z.infer<typeof taskChangeSchema>;

/** A source's status after it changed: the badge, the reason and the polling banner. */
export const sourceStatusChangeSchema = z.object({
  userId: z.string().min(1),
  sourceId: z.string().min(1),
  email: z.string(),
  status: z.enum(['active', 'degraded', 'disconnected']),
  reason: z.string().nullable(),
  /** Changes reach the engine by polling, not (only) by push: show the banner. */
  polling: z.boolean(),
  /** Only grows per source. */
  version: z.number().int().positive(),
});
export type SourceStatusChange = z.infer<typeof sourceStatusChangeSchema>;

const envelope = {
  specversion: z.literal('1.0'),
  /** `{subject}@{version}`: the same change always has the same id. */
  id: z.string().min(1),
  source: z.string().min(1),
  subject: z.string().min(1),
  time: isoTime,
  datacontenttype: z.literal('application/json'),
};

export const taskChangedEventSchema = z.object({ ...envelope, type: z.literal(TASK_CHANGED), data: taskChangeSchema });
export const sourceStatusEventSchema = z.object({ ...envelope, type: z.literal(SOURCE_STATUS_CHANGED), data: sourceStatusChangeSchema });
export const changeEventSchema = z.discriminatedUnion('type', [taskChangedEventSchema, sourceStatusEventSchema]);
export type TaskChangedEvent = z.infer<typeof taskChangedEventSchema>;
export type SourceStatusEvent = z.infer<typeof sourceStatusEventSchema>;
export type ChangeEvent = z.infer<typeof changeEventSchema>;

const EVENT_SOURCE = '//push-sync-engine';

export function taskChangedEvent(data: TaskChange, time: Date): TaskChangedEvent {
  const subject = `users/${data.userId}/tasks/${data.taskId}`;
  return { specversion: '1.0', type: TASK_CHANGED, source: EVENT_SOURCE, subject, id: `${subject}@${data.version}`, time: time.toISOString(), datacontenttype: 'application/json', data };
}

export function sourceStatusEvent(data: SourceStatusChange, time: Date): SourceStatusEvent {
  const subject = `users/${data.userId}/sources/${data.sourceId}`;
  return { specversion: '1.0', type: SOURCE_STATUS_CHANGED, source: EVENT_SOURCE, subject, id: `${subject}@${data.version}`, time: time.toISOString(), datacontenttype: 'application/json', data };
}

/** Messages are ordered per user: a user's events arrive in the order they were published. */
export function orderingKeyOf(event: ChangeEvent): string {
  return event.data.userId;
}
