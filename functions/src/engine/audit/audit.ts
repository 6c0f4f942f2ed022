import { calendarWindow, type TaskRule } from '../task-rule';
import { auditCalendars, auditGmail, type AuditTaskReads, type AuditWindow } from './sources';
import { auditFinished } from './compare';
import { isGoogleError } from '../errors';
import type { AuditCounts, AuditRecord, Source } from '../model';
import type { Clock, GoogleAccess, Logger, TaskStore } from '../ports';
import type { SourceStore } from '../source/ports';
import type { SyncRequestPublisher } from '../jobs/ports';
import { LOG_EVENTS } from '../../observability/log-events';

/**
 * The completeness audit: pushes and polls should have missed nothing; this proves it. The
 * daily job (`auditCompleteness`, the `jobs` account) only finds the active sources not
 * audited within the period and fans them out on `sync-requests`; syncWorker (the `sync`
 * account, the one that may decrypt refresh tokens) audits each: it compares what Gmail and
 * Calendar show for a recent window with our tasks and repairs the differences through the
 * task store's normal upserts. A source that needed repairs twice in a row means something
 * upstream is broken (logged for an alert).
 */

export interface AuditSettings {
  /** A source audited more recently than this is skipped. */
  periodMs: number;
  /** How far back each audit looks. */
  windowMs: number;
  /** Changes younger than this may still be syncing: not judged. */
  graceMs: number;
  /** Bound on Gmail messages checked per source. */
  maxMessages: number;
  /** Bound on sources requested per run (the next run continues). */
  maxSources: number;
}

export interface AuditStore extends AuditTaskReads {
  /** Active sources whose last audit is older than `cutoff`, or that were never audited. */
  dueForAudit(cutoff: Date): AsyncIterable<Source>;
  record(record: AuditRecord): Promise<void>;
}

/** Daily: requests an audit of each due source (at most `maxSources`) on `sync-requests`. */
export async function auditCompleteness(
  deps: { audits: Pick<AuditStore, 'dueForAudit'>; publisher: SyncRequestPublisher; clock: Clock; logger: Logger },
  settings: Pick<AuditSettings, 'periodMs' | 'maxSources'>,
): Promise<{ requested: number }> {
  const cutoff = new Date(deps.clock.now().getTime() - settings.periodMs);
  let requested = 0;
  for await (const source of deps.audits.dueForAudit(cutoff)) {
    if (requested >= settings.maxSources) break;
    await deps.publisher.publish({ kind: 'audit', sourceId: source.id });
    requested += 1;
  }
  deps.logger.info(LOG_EVENTS.auditFannedOut, { requested });
  return { requested };
}

export interface AuditDeps {
  sources: Pick<SourceStore, 'get' | 'transition'>;
  tasks: TaskStore;
  audits: AuditStore;
  google: GoogleAccess;
  clock: Clock;
  logger: Logger;
  /** How long an audit record is kept. */
  recordRetentionMs: number;
  /** What becomes a task: the audit judges by the same rule as the syncs. */
  taskRule: TaskRule;
}

export type AuditOutcome = { audited: true; repaired: number } | { audited: false; reason: 'missing' | 'not-active' | 'recently-audited' };

/**
 * Audits one source if it is still due: a duplicate or redelivered request finds it audited
 * and does nothing. A transient Google failure throws (Pub/Sub redelivers); the audit is
 * idempotent, so a rerun repairs nothing twice.
 */
export async function auditSourceIfDue(deps: AuditDeps, sourceId: string, settings: AuditSettings): Promise<AuditOutcome> {
  const source = await deps.sources.get(sourceId);
  if (!source) return { audited: false, reason: 'missing' };
  if (source.status !== 'active') return { audited: false, reason: 'not-active' };
  const cutoff = deps.clock.now().getTime() - settings.periodMs;
  if (source.lastAuditAt !== null && source.lastAuditAt.getTime() > cutoff) return { audited: false, reason: 'recently-audited' };
  return { audited: true, repaired: await auditSource(deps, source, settings) };
}

/** Audits one source's Gmail and Calendar; returns how many tasks it repaired. */
export async function auditSource(deps: AuditDeps, source: Source, settings: AuditSettings): Promise<number> {
  const startedAt = deps.clock.now();
  const window: AuditWindow = {
    since: new Date(Math.max(startedAt.getTime() - settings.windowMs, source.createdAt.getTime())),
    settledBefore: new Date(startedAt.getTime() - settings.graceMs),
    at: startedAt,
    maxMessages: settings.maxMessages,
    calendar: calendarWindow(startedAt, deps.taskRule, source.eventRules),
  };
  const stores = { tasks: deps.tasks, reads: deps.audits };
  const gmail = await auditOne(deps, source, 'gmail', async () => auditGmail(await deps.google.gmail(source), stores, source, window));
  const calendar = await auditOne(deps, source, 'calendar', async () => auditCalendars((calendarId) => deps.google.calendar(source, calendarId), stores, source, window));
  const finishedAt = deps.clock.now();
  await deps.audits.record({
    sourceId: source.id,
    userId: source.userId,
    startedAt,
    finishedAt,
    gmail,
    calendar,
    expireAt: new Date(finishedAt.getTime() + deps.recordRetentionMs),
  });
  const repaired = (gmail?.repaired ?? 0) + (calendar?.repaired ?? 0);
  const updated = await deps.sources.transition(source.id, finishedAt, auditFinished(finishedAt, repaired));
  if (updated.auditRepairStreak >= 2) deps.logger.warn(LOG_EVENTS.auditRepairedTwice, { sourceId: source.id, streak: updated.auditRepairStreak });
  return repaired;
}

/** One type's audit; a permanent failure is logged and recorded as `null`, a transient one throws. */
async function auditOne(deps: AuditDeps, source: Source, type: 'gmail' | 'calendar', run: () => Promise<AuditCounts>): Promise<AuditCounts | null> {
  try {
    const counts = await run();
    deps.logger.info(LOG_EVENTS.auditFinished, { sourceId: source.id, type, ...counts });
    return counts;
  } catch (error) {
    if (isGoogleError(error) && !error.transient) {
      // e.g. 410 updatedMinTooLongAgo, or access revoked since the source was picked.
      deps.logger.warn(LOG_EVENTS.auditSkipped, { sourceId: source.id, type, errorClass: error.kind });
      return null;
    }
    throw error;
  }
}
