import { CredentialsUnavailableError, isGoogleError, LeaseLostError } from '../errors';
import { ResyncLoopError } from '../gmail/sync';
import type { IngestionTrigger, Source } from '../model';
import type { Clock, EventLog, Logger } from '../ports';
import type { StepCursors } from '../source/lease';
import { refusesOnlyItsCalendar, type PassOutcome } from '../source/pass-outcome';
import { LOG_EVENTS } from '../../observability/log-events';

/**
 * One sync pass, accounted for: a log line, an ingestion event for the exceptions
 * (`worthRecording`), and a typed result for the step's end. Transient failures are marked
 * for rethrowing (redelivery can help); permanent ones are only reported; a lost lease means
 * a successor took over.
 */

export type PassType = 'gmail' | 'calendar';

/** What a sync reports back: its telemetry, and what the step's end needs. */
export interface SyncReport {
  /** Telemetry only: logged and recorded, never decided on. */
  counts: Record<string, number>;
  /** What the ingestion log calls this pass (a resync, whatever started it). */
  trigger: IngestionTrigger;
  /** Tasks were written, archived or cancelled. */
  changed: boolean;
  /** The Gmail pass stopped at its budget with work left: keep it pending. */
  more: boolean;
  cursors: StepCursors;
}

export type PassResult =
  /** The pass ran (or failed permanently, or failed in a way retrying may fix: `rethrow`). */
  | { kind: 'done'; type: PassType; outcome: PassOutcome; more: boolean; cursors: StepCursors; rethrow?: unknown; calendarId?: string }
  /** A successor took the lease: the work is theirs; nothing changes here. */
  | { kind: 'lease-lost'; type: PassType }
  /** The source was disconnected meanwhile, or its token no longer decrypts (marked where that was found). */
  | { kind: 'no-credentials'; type: PassType };

export interface PassDeps {
  clock: Clock;
  events: EventLog;
  logger: Logger;
}

export async function runPass(deps: PassDeps, type: PassType, source: Source, trigger: IngestionTrigger, sync: (startedAt: Date) => Promise<SyncReport>): Promise<PassResult> {
  const started = deps.clock.now();
  try {
    const report = await sync(started);
    await accountFor(deps, type, source, started, report);
    return { kind: 'done', type, outcome: { ok: true, changed: report.changed }, more: report.more, cursors: report.cursors };
  } catch (error) {
    if (error instanceof LeaseLostError) return { kind: 'lease-lost', type };
    if (error instanceof CredentialsUnavailableError) {
      // Nothing to retry, nothing to report as a failure.
      deps.logger.info(LOG_EVENTS.syncStoppedWithoutCredentials(type), { sourceId: source.id, type, reason: error.why });
      return { kind: 'no-credentials', type };
    }
    return failed(deps, type, source, trigger, started, error);
  }
}

async function accountFor(deps: PassDeps, type: PassType, source: Source, started: Date, report: SyncReport): Promise<void> {
  const finished = deps.clock.now();
  const durationMs = finished.getTime() - started.getTime();
  const { counts, trigger } = report;
  if (worthRecording(trigger, report.changed)) {
    await deps.events.record({ sourceId: source.id, userId: source.userId, type, trigger, counts, durationMs, outcome: 'ok', error: null, createdAt: finished });
  }
  deps.logger.info(LOG_EVENTS.syncFinished(type), { sourceId: source.id, type, trigger, counts, durationMs });
}

async function failed(deps: PassDeps, type: PassType, source: Source, trigger: IngestionTrigger, started: Date, error: unknown): Promise<PassResult> {
  const finished = deps.clock.now();
  const summary = describe(error);
  const durationMs = finished.getTime() - started.getTime();
  await deps.events.record({ sourceId: source.id, userId: source.userId, type, trigger, counts: {}, durationMs, outcome: 'error', error: summary, createdAt: finished });
  const transient = isGoogleError(error) && error.transient;
  deps.logger[transient ? 'warn' : 'error'](`${type} sync failed`, { sourceId: source.id, type, trigger, errorClass: errorClass(error), error: summary, durationMs });
  const outcome: PassOutcome = { ok: false, error: isGoogleError(error) ? error : null, credentialsAt: source.credentialsAt };
  const retryable = transient || !(isGoogleError(error) || error instanceof ResyncLoopError);
  return { kind: 'done', type, outcome, more: false, cursors: {}, ...(retryable && { rethrow: error }) };
}

/**
 * Whether a pass ends the step early for the passes after it: a Gmail pass that lost the
 * grant (or the stored token), the lease, or failed in a way retrying may fix, lost it for
 * Calendar too. One calendar refused (its sharing, not the grant nor a missing scope) is
 * that calendar's alone.
 */
export function stopsTheStep(result: PassResult): boolean {
  if (result.kind !== 'done') return true;
  if (result.rethrow !== undefined) return true;
  return !result.outcome.ok && result.outcome.error?.kind === 'auth-revoked' && !refusesOnlyItsCalendar(result.outcome.error, result.calendarId);
}

/**
 * Successful passes worth an ingestion event: a resync, or changes no push announced (a poll
 * that found some means a push went missing; a reconnect's catch-up). Routine push passes are
 * in the log only (`gmail sync finished`, same fields): a Firestore write per run saved.
 * Failures are always recorded.
 */
function worthRecording(trigger: IngestionTrigger, changed: boolean): boolean {
  return trigger === 'resync' || (changed && trigger !== 'push');
}

function errorClass(error: unknown): string {
  if (isGoogleError(error)) return error.kind;
  if (error instanceof ResyncLoopError) return 'resync-loop';
  return 'internal';
}

function describe(error: unknown): string {
  return `${errorClass(error)}: ${error instanceof Error ? error.message : String(error)}`;
}

/** Whether a pass's counts say it changed any task. */
export function changedTasks(counts: Record<string, number>): boolean {
  return (counts.tasksWritten ?? 0) + (counts.tasksArchived ?? 0) + (counts.tasksCancelled ?? 0) > 0;
}
