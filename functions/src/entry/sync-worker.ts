import type { CloudEvent } from '@google-cloud/functions-framework';
import * as z from 'zod';
import { documentIdSchema } from '../engine/model';
import type { SyncRequest } from '../engine/jobs/ports';
import { auditSourceIfDue } from '../engine/audit/audit';
import { renewSourceWatches } from '../engine/account/renewal';
import { isStale } from './event-age';
import { auditDeps } from './audit-completeness';
import type { Services } from './services';

/**
 * syncWorker: runs the sync a `sync-requests` message names (calendar push, fallback poll,
 * re-registration, manual), or a source's completeness audit. Malformed and stale requests are logged and acknowledged;
 * transient failures throw so that Pub/Sub redelivers (until the dead-letter topic).
 */

const requestSchema = z.object({
  sourceId: documentIdSchema,
  calendar: z.boolean(),
  gmail: z.boolean().optional(),
  renew: z.boolean().optional(),
  audit: z.boolean().optional(),
  trigger: z.enum(['push', 'poll', 'renewal', 'manual']),
  pageSize: z.number().int().min(1).max(500).optional(),
});

const envelopeSchema = z.object({ message: z.object({ data: z.string().min(1) }) });

export function parseSyncRequest(data: unknown): SyncRequest | null {
  const envelope = envelopeSchema.safeParse(data);
  if (!envelope.success) return null;
  try {
    const parsed = requestSchema.safeParse(JSON.parse(Buffer.from(envelope.data.message.data, 'base64').toString('utf8')));
    if (!parsed.success) return null;
    const { pageSize, gmail, renew, audit, ...rest } = parsed.data;
    return {
      ...rest,
      ...(pageSize !== undefined && { pageSize }),
      ...(gmail !== undefined && { gmail }),
      ...(renew !== undefined && { renew }),
      ...(audit !== undefined && { audit }),
    };
  } catch {
    return null;
  }
}

export function syncWorkerHandler(services: () => Services) {
  return async (event: CloudEvent<unknown>): Promise<void> => {
    const { runner, logger, watchDeps, config } = services();
    if (isStale(event)) {
      logger.warn('Dropping a stale sync request', { eventId: event.id, eventTime: event.time });
      return;
    }
    const request = parseSyncRequest(event.data);
    if (!request) {
      logger.warn('Ignoring a malformed sync request', { eventId: event.id });
      return;
    }
    if (request.audit) {
      const outcome = await auditSourceIfDue(auditDeps(services()), request.sourceId, config.audit);
      logger.debug('audit request handled', { sourceId: request.sourceId, ...outcome });
      return;
    }
    if (request.renew) {
      const renewed = await renewSourceWatches(watchDeps, request.sourceId, config.renewBeforeMs);
      logger.info('watches renewed', { sourceId: request.sourceId, trigger: 'renewal', ...renewed });
      return;
    }
    const outcome = await runner.handle(
      request.sourceId,
      { gmail: null, calendar: request.calendar },
      {
        trigger: request.trigger,
        ...(request.gmail === true && { checkGmail: true }),
        ...(request.pageSize !== undefined && { pageSize: request.pageSize }),
      },
    );
    logger.debug('sync request handled', { sourceId: request.sourceId, trigger: request.trigger, outcome });
  };
}
