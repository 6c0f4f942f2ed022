import { auditCalendar, auditGmail, type AuditTaskReads, type AuditWindow } from './audit-sources';
import { nextRepairStreak } from './audit-compare';
import { isGoogleError } from './errors';
import type { AuditCounts, AuditRecord, Source } from './model';
import type { Clock, GoogleAccess, Logger, SourceStore, TaskStore } from './ports';

/**
 * The completeness audit (scheduled daily): for each active source not audited within the
 * period, compare what Gmail and Calendar show for a recent window with our tasks and repair
 * the differences through the task store's normal upserts. Pushes and polls should have
 * missed nothing; this proves it, and a source that needed repairs twice in a row means
 * something upstream is broken (logged for an alert).
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
  /** Bound on sources audited per run (the next run continues). */
  maxSources: number;
  /** Sources audited at the same time. */
  concurrency: number;
}

export interface AuditStore extends AuditTaskReads {
  /** Active sources whose last audit is older than `cutoff`, or that were never audited. */
  dueForAudit(cutoff: Date): AsyncIterable<Source>;
  record(record: AuditRecord): Promise<void>;
}

export interface AuditDeps {
  sources: Pick<SourceStore, 'update'>;
  tasks: TaskStore;
  audits: AuditStore;
  google: GoogleAccess;
  clock: Clock;
  logger: Logger;
  /** How long an audit record is kept. */
  recordRetentionMs: number;
}

export interface AuditRunResult {
  audited: number;
  failed: number;
  repaired: number;
}

export async function auditCompleteness(deps: AuditDeps, settings: AuditSettings): Promise<AuditRunResult> {
  const cutoff = new Date(deps.clock.now().getTime() - settings.periodMs);
  const result: AuditRunResult = { audited: 0, failed: 0, repaired: 0 };
  const running = new Set<Promise<void>>();
  let started = 0;
  for await (const source of deps.audits.dueForAudit(cutoff)) {
    if (started >= settings.maxSources) break;
    started += 1;
    const run = auditSource(deps, source, settings).then(
      (repaired) => {
        result.audited += 1;
        result.repaired += repaired;
      },
      (error: unknown) => {
        result.failed += 1;
        deps.logger.warn('audit failed', { sourceId: source.id, errorClass: isGoogleError(error) ? error.kind : 'internal' });
      },
    );
    running.add(run);
    void run.finally(() => running.delete(run));
    if (running.size >= settings.concurrency) await Promise.race(running);
  }
  await Promise.all(running);
  deps.logger.info('auditCompleteness finished', { ...result });
  return result;
}

/** Audits one source's Gmail and Calendar; returns how many tasks it repaired. */
export async function auditSource(deps: AuditDeps, source: Source, settings: AuditSettings): Promise<number> {
  const startedAt = deps.clock.now();
  const window: AuditWindow = {
    since: new Date(Math.max(startedAt.getTime() - settings.windowMs, source.createdAt.getTime())),
    settledBefore: new Date(startedAt.getTime() - settings.graceMs),
    at: startedAt,
    maxMessages: settings.maxMessages,
  };
  const stores = { tasks: deps.tasks, reads: deps.audits };
  const gmail = await auditOne(deps, source, 'gmail', async () => auditGmail(await deps.google.gmail(source), stores, source, window));
  const calendar = await auditOne(deps, source, 'calendar', async () => auditCalendar(await deps.google.calendar(source), stores, source, window));
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
  const updated = await deps.sources.update(source.id, finishedAt, (s) => ({
    lastAuditAt: finishedAt,
    auditRepairStreak: nextRepairStreak(s.auditRepairStreak, repaired),
  }));
  if (updated.auditRepairStreak >= 2) deps.logger.warn('audit repaired twice in a row', { sourceId: source.id, streak: updated.auditRepairStreak });
  return repaired;
}

/** One type's audit; a permanent failure is logged and recorded as `null`, a transient one throws. */
async function auditOne(deps: AuditDeps, source: Source, type: 'gmail' | 'calendar', run: () => Promise<AuditCounts>): Promise<AuditCounts | null> {
  try {
    const counts = await run();
    deps.logger.info('audit finished', { sourceId: source.id, type, ...counts });
    return counts;
  } catch (error) {
    if (isGoogleError(error) && !error.transient) {
      // e.g. 410 updatedMinTooLongAgo, or access revoked since the source was picked.
      deps.logger.warn('audit skipped', { sourceId: source.id, type, errorClass: error.kind });
      return null;
    }
    throw error;
  }
}
