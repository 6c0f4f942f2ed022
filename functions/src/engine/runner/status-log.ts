import type { Source, SourceStatus } from '../model';
import type { Logger } from '../ports';
import { LOG_EVENTS } from '../../observability/log-events';

/** A write that changed a source's status logs it: the status-changes metric counts these lines. */
export function logStatusChange(logger: Logger, sourceId: string, previous: SourceStatus, source: Pick<Source, 'status' | 'statusReason'>): void {
  if (previous === source.status) return;
  logger.info(LOG_EVENTS.sourceStatusChanged, { sourceId, status: source.status, previous, reason: source.statusReason });
}
