import type { CloudEvent } from '@google-cloud/functions-framework';
import * as z from 'zod';
import { requestOf, syncRequestMessageSchema, type SyncRequest } from '../engine/jobs/ports';
import type { RunTrigger } from '../engine/runner/trigger';
import { auditSourceIfDue } from '../engine/audit/audit';
import { renewSourceWatches } from '../engine/account/renewal';
import { reconcileSourceCalendars } from '../engine/calendar/selection';
import { isStale } from './event-age';
import { auditDeps } from './audit-completeness';
import type { Services } from './services';
import { LOG_EVENTS } from '../observability/log-events';

/**
 * syncWorker: runs the sync a `sync-requests` message names (calendar push, fallback poll,
 * re-registration, manual), a source's renewal, its calendar list's check, or its
 * completeness audit. Malformed and stale requests are logged and acknowledged; transient
 * failures throw so that Pub/Sub redelivers (until the dead-letter topic).
 */

const envelopeSchema = z.object({ message: z.object({ data: z.string().min(1) }) });

/** The request a Pub/Sub push carries, in any shape published so far; `null` when malformed. */
export function parseSyncRequest(data: unknown): SyncRequest | null {
  const envelope = envelopeSchema.safeParse(data);
  if (!envelope.success) return null;
  try {
    const parsed = syncRequestMessageSchema.safeParse(JSON.parse(Buffer.from(envelope.data.message.data, 'base64').toString('utf8')));
    return parsed.success ? requestOf(parsed.data) : null;
  } catch {
    return null;
  }
}

export function syncWorkerHandler(services: () => Services) {
  return async (event: CloudEvent<unknown>): Promise<void> => {
    const { runner, logger, watchDeps, config } = services();
    if (isStale(event)) {
      logger.warn(LOG_EVENTS.syncRequestStale, { eventId: event.id, eventTime: event.time });
      return;
    }
    const request = parseSyncRequest(event.data);
    if (!request) {
      logger.warn(LOG_EVENTS.syncRequestMalformed, { eventId: event.id });
      return;
    }
    if (request.kind === 'audit') {
      const outcome = await auditSourceIfDue(auditDeps(services()), request.sourceId, config.audit);
      logger.debug(LOG_EVENTS.auditRequestHandled, { sourceId: request.sourceId, ...outcome });
      return;
    }
    if (request.kind === 'renew') {
      const renewed = await renewSourceWatches(watchDeps, request.sourceId, config.renewBeforeMs);
      logger.info(LOG_EVENTS.watchesRenewed, { sourceId: request.sourceId, trigger: 'renewal', ...renewed, ...(await checkCalendarList(services(), request.sourceId)) });
      return;
    }
    if (request.kind === 'calendarList') {
      logger.info(LOG_EVENTS.calendarListChecked, { sourceId: request.sourceId, trigger: 'push', ...(await checkCalendarList(services(), request.sourceId)) });
      return;
    }
    const outcome = await runner.run(request.sourceId, triggerFor(request));
    logger.debug(LOG_EVENTS.syncRequestHandled, { sourceId: request.sourceId, trigger: request.trigger, outcome });
  };
}

/** The calendar list checked against the source's choice; what it changed, for the log. */
async function checkCalendarList(s: Services, sourceId: string): Promise<{ calendarsRemoved: number; calendarsAdded: number } | Record<string, never>> {
  const calendars = await reconcileSourceCalendars({ sources: s.sources, tasks: s.tasks, publisher: s.publisher, watchDeps: s.watchDeps, clock: s.clock }, sourceId);
  return calendars === null ? {} : { calendarsRemoved: calendars.removed.length, calendarsAdded: calendars.added.length };
}

/** A sync request as the run it asks for: asking Gmail makes it a check; otherwise it runs what is pending. */
function triggerFor(request: Extract<SyncRequest, { kind: 'sync' }>): RunTrigger {
  const basis = { trigger: request.trigger, ...(request.pageSize !== undefined && { pageSize: request.pageSize }) };
  if (request.gmail) return { ...basis, kind: 'check', calendar: request.calendar };
  return { ...basis, kind: 'announced', work: { gmail: null, calendar: request.calendar } };
}
