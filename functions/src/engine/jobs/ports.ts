import * as z from 'zod';
import { documentIdSchema } from '../model';

/** Sync requests: what the scheduled jobs, the Calendar push and a reconnect publish, and the sync worker runs. */

/**
 * What a request on the `sync-requests` topic asks for:
 * - `sync`: run what is pending for the source, and check Calendar (`calendar`) or Gmail
 *   (`gmail`) even if nothing announced a change (polls, a reconnect's catch-up);
 * - `renew`: renew the source's watches;
 * - `calendarList`: check the source's calendar list against its choice (its channel pushed);
 * - `audit`: run the completeness audit (fanned out by auditCompleteness).
 */
export type SyncRequest =
  | { kind: 'sync'; sourceId: string; trigger: SyncRequestTrigger; calendar: boolean; gmail: boolean; pageSize?: number }
  | { kind: 'renew'; sourceId: string }
  | { kind: 'calendarList'; sourceId: string }
  | { kind: 'audit'; sourceId: string };

export type SyncRequestTrigger = 'push' | 'poll' | 'renewal' | 'manual';

export interface SyncRequestPublisher {
  publish(request: SyncRequest): Promise<void>;
}

/**
 * The message on the topic: the flags every published message has carried so far. Kept as
 * it is, so that a dead-letter replay of an old message, and workers of either version
 * during a deploy, read every message alike.
 */
export const syncRequestMessageSchema = z.object({
  sourceId: documentIdSchema,
  calendar: z.boolean(),
  gmail: z.boolean().optional(),
  renew: z.boolean().optional(),
  /** A worker of an earlier version reads it as a sync of what is pending: harmless. */
  calendarList: z.boolean().optional(),
  audit: z.boolean().optional(),
  trigger: z.enum(['push', 'poll', 'renewal', 'manual']),
  pageSize: z.number().int().min(1).max(500).optional(),
});
export type SyncRequestMessage = z.infer<typeof syncRequestMessageSchema>;

/** A message as the request it stands for: the audit flag wins over renewal, renewal over the list's check, that over a sync. */
export function requestOf(message: SyncRequestMessage): SyncRequest {
  const { sourceId } = message;
  if (message.audit === true) return { kind: 'audit', sourceId };
  if (message.renew === true) return { kind: 'renew', sourceId };
  if (message.calendarList === true) return { kind: 'calendarList', sourceId };
  const { trigger, calendar, pageSize } = message;
  return { kind: 'sync', sourceId, trigger, calendar, gmail: message.gmail === true, ...(pageSize !== undefined && { pageSize }) };
}

/** The message that carries a request. */
export function messageOf(request: SyncRequest): SyncRequestMessage {
  switch (request.kind) {
    case 'audit':
      return { sourceId: request.sourceId, trigger: 'manual', calendar: false, audit: true };
    case 'renew':
      return { sourceId: request.sourceId, trigger: 'renewal', calendar: false, renew: true };
    case 'calendarList':
      return { sourceId: request.sourceId, trigger: 'push', calendar: false, calendarList: true };
    case 'sync': {
      const { sourceId, trigger, calendar, gmail, pageSize } = request;
      return { sourceId, trigger, calendar, ...(gmail && { gmail }), ...(pageSize !== undefined && { pageSize }) };
    }
  }
}
