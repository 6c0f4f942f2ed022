import { randomUUID } from 'node:crypto';
import { CalendarSync } from './calendar-sync';
import { CredentialsUnavailableError, GoogleError, isGoogleError, LeaseLostError } from './errors';
import { GmailSync, ResyncLoopError } from './gmail-sync';
import { historyIdAfter, isNewerHistoryId, maxHistoryId } from './history-id';
import { NO_PENDING, type IngestionTrigger, type Pending, type Source, type SourceData } from './model';
import type { Clock, EventLog, GoogleAccess, Logger, SourceStore, TaskStore } from './ports';
import { missedPushAfterRun, withStatus, type StatusSettings } from './status';
import type { TaskRule } from './task-rule';

/**
 * The sync runner (DESIGN.md, "The sync runner"): a trigger records its work as pending and
 * tries to take the source's lease; the holder loops claim → sync → write → advance cursor
 * until nothing new is pending, then releases. Everyone else returns at once: their work is
 * recorded and the holder will see it. Bursts coalesce without timers.
 */

export interface RunnerDeps {
  sources: SourceStore;
  tasks: TaskStore;
  events: EventLog;
  google: GoogleAccess;
  clock: Clock;
  logger: Logger;
  leaseMs: number;
  /** A Gmail pass starts no new page after this long and hands the rest on. */
  passBudgetMs: number;
  fetchBatchSize: number;
  taskRule: TaskRule;
  statusSettings: StatusSettings;
  /** Waits between a Gmail pass and its follow-up (tests may shorten it). */
  pause?: (ms: number) => Promise<void>;
  /** Follow-up looks after a push-triggered Gmail pass that found changes (0 turns them off). */
  gmailFollowUps: number;
}

/** Gmail announces at most one change a second per mailbox. */
const GMAIL_NOTIFICATION_INTERVAL_MS = 1100;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface RunOptions {
  trigger: IngestionTrigger;
  /** When the work was announced by a push (refreshes `lastPushAt`). */
  pushAt?: Date;
  /** Small pages for fallback polls. */
  pageSize?: number;
  /** Check Gmail even though no notification announced anything (polls). */
  checkGmail?: boolean;
}

export type RunOutcome = 'ran' | 'recorded' | 'nothing-new' | 'disconnected' | 'missing';

/** What triggers need from a runner; the benchmark swaps in simpler strategies behind it. */
export interface Runner {
  handle(sourceId: string, work: Pending, options: RunOptions): Promise<RunOutcome>;
}

export class SyncRunner implements Runner {
  private readonly gmailSync: GmailSync;
  private readonly calendarSync: CalendarSync;

  constructor(private readonly deps: RunnerDeps) {
    this.gmailSync = new GmailSync(deps);
    this.calendarSync = new CalendarSync(deps);
  }

  /**
   * Runs (or hands over) the work for one source. Throws only transient failures, so a
   * Pub/Sub-triggered caller is redelivered exactly when retrying can help.
   */
  async handle(sourceId: string, work: Pending, options: RunOptions): Promise<RunOutcome> {
    const { sources, clock, leaseMs } = this.deps;
    const existing = await sources.get(sourceId);
    if (!existing) return 'missing';
    if (existing.status === 'disconnected') return 'disconnected';

    const owner = randomUUID();
    const wanted: Pending = options.checkGmail ? { ...work, gmail: maxHistoryId(work.gmail, historyIdAfter(existing.historyId)) } : work;
    const recorded = await sources.recordPending(sourceId, wanted, owner, clock.now(), leaseMs, options.pushAt, existing);
    if (recorded.kind !== 'acquired') return recorded.kind;

    let claimed: Pending = NO_PENDING;
    try {
      let followUps = 0;
      let recheckGmail = false;
      for (;;) {
        const { pending, source } = await sources.claimPending(sourceId, owner, clock.now(), leaseMs);
        claimed = pending;
        const gmailTarget = recheckGmail ? maxHistoryId(pending.gmail, historyIdAfter(source.historyId)) : pending.gmail;
        recheckGmail = false;
        // The cursor may already cover what was announced during the previous pass.
        if (source.status !== 'disconnected' && gmailTarget !== null && isNewerHistoryId(gmailTarget, source.historyId)) {
          const counts = await this.runGmail(source, owner, options);
          // Gmail drops notifications beyond one a second per mailbox: a push that brought
          // changes may be the first of a burst whose rest is never announced. Look once more
          // after that second instead of leaving the tail to the fallback poll.
          if (options.trigger === 'push' && (counts?.historyRecords ?? 0) > 0 && followUps < this.deps.gmailFollowUps) {
            followUps += 1;
            recheckGmail = true;
          }
        }
        if (source.status !== 'disconnected' && pending.calendar) {
          // Re-read: the Gmail pass may have changed the source (status, lease).
          const current = (await sources.get(sourceId)) ?? source;
          if (current.status !== 'disconnected') await this.runCalendar(current, owner, options);
        }
        claimed = NO_PENDING;
        if (recheckGmail) {
          await (this.deps.pause ?? sleep)(GMAIL_NOTIFICATION_INTERVAL_MS);
          continue;
        }
        if ((await sources.releaseOrContinue(sourceId, owner, clock.now(), leaseMs)) === 'released') return 'ran';
      }
    } catch (error) {
      // Put back what this run had claimed, so the next trigger or the fallback poll finds it.
      await sources.releaseLease(sourceId, owner, clock.now(), claimed);
      // Another run took the source over: the work is theirs now, nothing failed.
      if (error instanceof LeaseLostError) return 'recorded';
      throw error;
    }
  }

  private runGmail(source: Source, owner: string, options: RunOptions): Promise<Record<string, number> | null> {
    return this.runSync('gmail', source, options, async () => {
      const result = await this.gmailSync.run(await this.deps.google.gmail(source), source, owner, options.pageSize ?? null);
      if (result.more) await this.keepGmailPending(source.id, owner);
      return { counts: result.counts, trigger: result.resynced ? 'resync' : options.trigger };
    });
  }

  /** A pass that stopped at its budget leaves Gmail pending, so this loop (or the next trigger) goes on. */
  private async keepGmailPending(sourceId: string, owner: string): Promise<void> {
    const { sources, clock, leaseMs } = this.deps;
    const current = await sources.get(sourceId);
    if (current) await sources.recordPending(sourceId, { gmail: historyIdAfter(current.historyId), calendar: false }, owner, clock.now(), leaseMs);
  }

  private runCalendar(source: Source, owner: string, options: RunOptions): Promise<Record<string, number> | null> {
    return this.runSync('calendar', source, options, async () => {
      const result = await this.calendarSync.run(await this.deps.google.calendar(source), source, owner, options.pageSize ?? null);
      return { counts: result.counts, trigger: result.fullSync && options.trigger !== 'poll' ? 'resync' : options.trigger };
    });
  }

  /**
   * Runs one sync and accounts for it: an ingestion event, the source's status, a log line.
   * Transient failures are rethrown (redelivery can help); permanent ones are recorded.
   */
  private async runSync(
    type: 'gmail' | 'calendar',
    source: Source,
    options: RunOptions,
    sync: () => Promise<{ counts: Record<string, number>; trigger: IngestionTrigger }>,
  ): Promise<Record<string, number> | null> {
    const { clock, events, logger } = this.deps;
    const started = clock.now();
    const base = { sourceId: source.id, userId: source.userId, type };
    try {
      const { counts, trigger } = await sync();
      const finished = clock.now();
      const durationMs = finished.getTime() - started.getTime();
      const changed = (counts.tasksWritten ?? 0) + (counts.tasksArchived ?? 0) + (counts.tasksCancelled ?? 0) > 0;
      await this.markSuccess(source.id, finished, options.trigger, changed);
      await events.record({ ...base, trigger, counts, durationMs, outcome: 'ok', error: null, createdAt: finished });
      logger.info(`${type} sync finished`, { sourceId: source.id, type, trigger, counts, durationMs });
      return counts;
    } catch (error) {
      if (error instanceof CredentialsUnavailableError) {
        // Disconnected meanwhile, or the token no longer decrypts (the source was marked
        // disconnected where that was found): nothing to retry, nothing to report as a failure.
        logger.info(`${type} sync stopped: no usable credentials`, { sourceId: source.id, type, reason: error.why });
        return null;
      }
      if (error instanceof LeaseLostError) {
        logger.info(`${type} sync handed over: lease lost`, { sourceId: source.id, type, trigger: options.trigger });
        throw error;
      }
      const finished = clock.now();
      const summary = describe(error);
      const durationMs = finished.getTime() - started.getTime();
      await this.markFailure(source.id, error, finished);
      await events.record({ ...base, trigger: options.trigger, counts: {}, durationMs, outcome: 'error', error: summary, createdAt: finished });
      const transient = isGoogleError(error) && error.transient;
      logger[transient ? 'warn' : 'error'](`${type} sync failed`, {
        sourceId: source.id,
        type,
        trigger: options.trigger,
        errorClass: errorClass(error),
        error: summary,
        durationMs,
      });
      if (transient || !(isGoogleError(error) || error instanceof ResyncLoopError)) throw error;
      return null;
    }
  }

  /**
   * A poll that found changes means a push went missing; a push-driven run means pushes flow
   * again. Either way the status is re-derived from the result.
   */
  private async markSuccess(sourceId: string, now: Date, trigger: IngestionTrigger, changed: boolean): Promise<void> {
    await this.updateStatus(sourceId, now, (s) => {
      const missedPushAt = missedPushAfterRun(s.missedPushAt, { trigger, changed }, now, this.deps.statusSettings);
      return withStatus({ ...s, lastSyncAt: now, lastCheckAt: now, consecutiveErrors: 0, missedPushAt }, now, this.deps.statusSettings);
    });
  }

  /** Applies a change; a status transition is logged (the dashboard counts them). */
  private async updateStatus(sourceId: string, now: Date, change: (source: Source) => Partial<SourceData>): Promise<void> {
    let previous: Source['status'] | undefined;
    const next = await this.deps.sources.update(sourceId, now, (s) => {
      previous = s.status;
      return change(s);
    });
    if (previous !== next.status) {
      this.deps.logger.info('source status changed', { sourceId, status: next.status, previous, reason: next.statusReason });
    }
  }

  private async markFailure(sourceId: string, error: unknown, now: Date): Promise<void> {
    await this.updateStatus(sourceId, now, (s): Partial<SourceData> => {
      if (isGoogleError(error, 'auth-revoked')) {
        return withStatus({ ...s, disconnectReason: disconnectReasonFor(error), lastCheckAt: now }, now, this.deps.statusSettings);
      }
      return withStatus({ ...s, consecutiveErrors: s.consecutiveErrors + 1, lastCheckAt: now }, now, this.deps.statusSettings);
    });
  }
}

function disconnectReasonFor(error: GoogleError): string {
  return error.details.reason === 'invalid_grant'
    ? 'Google access was revoked; reconnect the account'
    : 'A required Google permission is missing; reconnect the account';
}

function errorClass(error: unknown): string {
  if (isGoogleError(error)) return error.kind;
  if (error instanceof ResyncLoopError) return 'resync-loop';
  return 'internal';
}

function describe(error: unknown): string {
  return `${errorClass(error)}: ${error instanceof Error ? error.message : String(error)}`;
}
