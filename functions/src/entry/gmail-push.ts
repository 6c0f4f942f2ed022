import type { CloudEvent } from '@google-cloud/functions-framework';
import * as z from 'zod';
import { handleGmailNotification, type GmailNotification } from '../engine/gmail/notifications';
import { historyIdSchema } from '../engine/model';
import { isStale } from './event-age';
import type { Services } from './services';
import { LOG_EVENTS } from '../observability/log-events';

/**
 * gmailPush: the CloudEvent that Eventarc (or the Functions Framework, for an emulator push
 * subscription) makes of a message on the Gmail watch topic. A malformed payload is logged
 * and acknowledged (redelivery cannot fix it); a transient failure throws, so Pub/Sub
 * redelivers.
 */

const envelopeSchema = z.object({
  message: z.object({ data: z.string().min(1), messageId: z.string().optional() }),
});

const notificationSchema = z.object({
  emailAddress: z.string().min(3).max(320).includes('@'),
  historyId: historyIdSchema,
});

type Reviver = (key: string, value: unknown, context: { source?: string }) => unknown;
/**
 * Gmail sends `historyId` as a JSON number in production (the guide shows a string). A uint64
 * beyond 2^53 would lose digits as a JS number, so a number is taken from its source text.
 */
const historyIdAsText: Reviver = (key, value, context) =>
  key === 'historyId' && typeof value === 'number' && context.source !== undefined ? context.source : value;

export type ParsedNotification = { ok: true; value: GmailNotification } | { ok: false; reason: string };

export function parseGmailNotification(data: unknown): ParsedNotification {
  const envelope = envelopeSchema.safeParse(data);
  if (!envelope.success) return { ok: false, reason: 'not a Pub/Sub message envelope' };
  const raw = envelope.data.message.data;
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(raw)) return { ok: false, reason: 'data is not base64' };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(raw, 'base64').toString('utf8'), historyIdAsText as Parameters<typeof JSON.parse>[1]);
  } catch {
    return { ok: false, reason: 'data is not JSON' };
  }
  const notification = notificationSchema.safeParse(json);
  if (!notification.success) return { ok: false, reason: `invalid notification: ${notification.error.issues.map((i) => i.path.join('.')).join(', ')}` };
  return { ok: true, value: notification.data };
}

export function gmailPushHandler(services: () => Services) {
  return async (event: CloudEvent<unknown>): Promise<void> => {
    const { logger } = services();
    if (isStale(event)) {
      logger.warn(LOG_EVENTS.gmailNotificationStale, { trigger: 'push', eventId: event.id, eventTime: event.time });
      return;
    }
    const parsed = parseGmailNotification(event.data);
    if (!parsed.ok) {
      logger.warn(LOG_EVENTS.gmailNotificationMalformed, { trigger: 'push', eventId: event.id, reason: parsed.reason });
      return;
    }
    await handleGmailNotification(services(), parsed.value);
  };
}
