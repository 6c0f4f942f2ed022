import type { Request, Response } from '@google-cloud/functions-framework';
import * as z from 'zod';
import { handleCalendarPush } from '../engine/calendar/notifications';
import { CHANNEL_ID } from '../engine/model';
import type { Services } from './services';
import { LOG_EVENTS } from '../observability/log-events';

/**
 * calendarPush (HTTPS): Calendar channel notifications. Forged or stale pushes get a 4xx and
 * change nothing (never a 5xx, which Google would retry); genuine ones are answered at once,
 * the sync itself happens in syncWorker.
 */

/** Calendar notifications carry no body; anything beyond this is not one. */
const MAX_BODY_BYTES = 1024;

const headersSchema = z.object({
  'x-goog-channel-id': z.string().min(1).max(64),
  'x-goog-resource-id': z.string().min(1).max(256),
  'x-goog-resource-state': z.enum(['sync', 'exists', 'not_exists']),
  // Above 2^53 - 1 a number would be stored rounded (and fail the channel's schema).
  'x-goog-message-number': z.string().regex(/^\d{1,16}$/).transform(Number).refine(Number.isSafeInteger),
  'x-goog-channel-token': z.string().max(256).optional(),
});

export function calendarPushHandler(services: () => Services) {
  return async (req: Request, res: Response): Promise<void> => {
    if (req.method !== 'POST') {
      res.status(405).set('Allow', 'POST').end();
      return;
    }
    if ((req.rawBody?.length ?? 0) > MAX_BODY_BYTES) {
      res.status(413).json({ error: 'Calendar notifications have no body' });
      return;
    }
    const channelId = req.headers['x-goog-channel-id'];
    if (typeof channelId === 'string' && !CHANNEL_ID.test(channelId)) {
      // Not one of ours (ours are UUIDs): never looked up, so no odd id reaches Firestore.
      res.status(404).json({ error: 'unknown channel' });
      return;
    }
    const headers = headersSchema.safeParse(req.headers);
    if (!headers.success) {
      res.status(400).json({ error: 'missing or invalid X-Goog-* headers' });
      return;
    }
    const { channels, secrets, sources, publisher, clock, logger } = services();
    const h = headers.data;
    const verdict = await handleCalendarPush(
      { channels, secrets, sources, publisher, clock },
      {
        channelId: h['x-goog-channel-id'],
        resourceId: h['x-goog-resource-id'],
        state: h['x-goog-resource-state'],
        token: h['x-goog-channel-token'] ?? null,
        messageNumber: h['x-goog-message-number'],
      },
    );
    if (verdict.kind === 'rejected') {
      logger.warn(LOG_EVENTS.calendarPushRejected, { trigger: 'push', channelId: h['x-goog-channel-id'], reason: verdict.reason });
      res.status(verdict.status).json({ error: verdict.reason });
      return;
    }
    logger.debug(LOG_EVENTS.calendarPushAccepted, { trigger: 'push', sourceId: verdict.sourceId, state: h['x-goog-resource-state'], outcome: verdict.kind });
    res.status(200).end();
  };
}
