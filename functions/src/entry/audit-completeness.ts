import { auditCompleteness } from '../engine/audit';
import { scheduledJob } from './scheduled-job';

/** Audit records outlive the ingestion events: a month of completeness history per source. */
const RECORD_RETENTION_MS = 30 * 24 * 3_600_000;
/** Sources audited at once; each audit is a few sequential Google calls under its account's limiter. */
const CONCURRENCY = 4;

/** auditCompleteness (Scheduler, daily): compares Google's recent items with our tasks and repairs. */
export const auditCompletenessHandler = scheduledJob('auditCompleteness', (s) =>
  auditCompleteness(
    { sources: s.sources, tasks: s.tasks, audits: s.audits, google: s.google, clock: s.clock, logger: s.logger, recordRetentionMs: RECORD_RETENTION_MS },
    { ...s.config.audit, concurrency: CONCURRENCY },
  ),
);
