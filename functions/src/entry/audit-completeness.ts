import { auditCompleteness, type AuditDeps } from '../engine/audit/audit';
import { scheduledJob } from './scheduled-job';
import type { Services } from './services';

/** Audit records outlive the ingestion events: a month of completeness history per source. */
const RECORD_RETENTION_MS = 30 * 24 * 3_600_000;

/** auditCompleteness (Scheduler, daily): requests an audit of each due source on sync-requests. */
export const auditCompletenessHandler = scheduledJob('auditCompleteness', (s) =>
  auditCompleteness({ audits: s.audits, publisher: s.publisher, clock: s.clock, logger: s.logger }, s.config.audit),
);

/** What syncWorker needs to audit one source. */
export function auditDeps(s: Services): AuditDeps {
  return { sources: s.sources, tasks: s.tasks, audits: s.audits, google: s.google, clock: s.clock, logger: s.logger, recordRetentionMs: RECORD_RETENTION_MS, taskRule: s.config.taskRule };
}
