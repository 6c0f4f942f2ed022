import { randomUUID } from 'node:crypto';
import { CalendarSync } from '../calendar/sync';
import { CredentialsUnavailableError, isGoogleError, LeaseLostError, LeaseOutlivedError } from '../errors';
import { followUpAt, type FollowUpScheduler, type LookFrom } from './follow-up';
import { GmailSync, ResyncLoopError, type EarlyPage, type HistoryPage } from '../gmail/sync';
import { historyIdAfter, isNewerHistoryId, maxHistoryId } from '../gmail/history-id';
import { decideRecord, decideStepEnd, hasPending, leaseLive, mergePending, needsRecording, type StepCursors, type StepEnd } from '../source/lease';
import { NO_PENDING, type AnnouncedWork, type IngestionTrigger, type Pending, type Source } from '../model';
import { afterPass, type PassOutcome } from '../source/pass-outcome';
import type { Clock, EventLog, GoogleAccess, Logger, TaskStore } from '../ports';
import type { GmailApi } from '../gmail/ports';
import type { SourceStore } from '../source/ports';
import type { StatusSettings } from '../source/status';
import type { TaskRule } from '../task-rule';

/**
 * The sync runner (DESIGN.md, "The sync runner"): a trigger records its work as pending and
 * tries to take the source's lease; the holder runs steps — sync what it claimed, then in one
 * atomic write store the cursors, apply the passes' results and either claim what arrived
 * meanwhile or release —
 * until nothing is left. Everyone else returns at once: their work is recorded and the holder
 * will see it. Bursts coalesce without timers; a burst's unannounced tail gets a scheduled
 * look (engine/follow-up.ts), never a wait.
 *
 * States: `recording` (first write) → `holding` (a step: passes over claimed work) →
 * `holding` again when work arrived, or `finished` (released, or the lease was lost to a
 * successor, which then owns the work). A failure, or a pass that outlived its lease, gives
 * the claimed work back and throws.
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
  /** The clock pass budgets are read from; the runner's clock unless a test brings its own. */
  budgetClock?: Clock;
  fetchBatchSize: number;
  taskRule: TaskRule;
  statusSettings: StatusSettings;
  /** Schedules tail looks after Gmail passes that found changes; `null` leaves tails to the fallback poll. */
  followUps: FollowUpScheduler | null;
}

export interface RunOptions {
  trigger: IngestionTrigger;
  /** When the work was announced by a push (refreshes `lastPushAt`). */
  pushAt?: Date;
  /** Small pages for fallback polls. */
  pageSize?: number;
  /**
   * Check Gmail even though no notification announced anything (polls, tail looks): Gmail is
   * asked first whether anything follows the cursor, and the mailbox history id it shows is
   * the work recorded.
   */
  checkGmail?: boolean;
  /**
   * Tail looks: first ask Gmail, without the lease, whether anything follows the cursor; a
   * look that finds nothing then costs one `history.list` and no Firestore write.
   */
  onlyIfGmailChanged?: boolean;
  /** A tail look's starting point (where the pass that asked for it got to): see `warmLook`. */
  lookFrom?: LookFrom;
  /** The source as a strongly consistent read just returned it (a notification's query): spares the runner's own read. */
  source?: Source;
}

export type RunOutcome = 'ran' | 'recorded' | 'nothing-new' | 'disconnected' | 'missing';

/** What triggers need from a runner; the benchmark swaps in simpler strategies behind it. */
export interface Runner {
  handle(sourceId: string, work: AnnouncedWork, options: RunOptions): Promise<RunOutcome>;
}

/** Holding the lease: the source as the last write left it, and the work claimed. */
interface Holding {
  source: Source;
  claimed: Pending;
  /** The first step's Gmail page, asked for while the lease was being taken. */
  early?: EarlyPage | null;
}

type PassType = 'gmail' | 'calendar';

/**
 * What a tail look found after its point: the mailbox's history id, and the page it read
 * there, which a pass from the same point starts with (`null` when Gmail's answer was unclear:
 * the pass asks itself).
 */
interface TailFind {
  historyId: string;
  page: EarlyPage | null;
}

interface PassReport {
  type: PassType;
  /**
   * What the pass did; `lease-lost`: a successor took over (the work is theirs);
   * `no-credentials`: the source was disconnected meanwhile or its token no longer decrypts
   * (marked where that was found). Neither changes the source here.
   */
  outcome: PassOutcome | 'lease-lost' | 'no-credentials';
  /** The Gmail pass stopped with work left (its time budget): keep it pending. */
  more: boolean;
  /** Where the pass got to on its last page, for the step's end to store. */
  cursors?: StepCursors;
  /** A failure retrying may fix: the step gives its work back, then rethrows it. */
  rethrow?: unknown;
}

export class SyncRunner implements Runner {
  private readonly gmailSync: GmailSync;
  private readonly calendarSync: CalendarSync;
  /**
   * Sources whose run on this instance asked for an early page and is still taking the lease
   * (a look that hands its own page to the pass does not count: a push meanwhile may list once
   * more).
   */
  private readonly asking = new Set<string>();

  constructor(private readonly deps: RunnerDeps) {
    this.gmailSync = new GmailSync(deps);
    this.calendarSync = new CalendarSync(deps);
  }

  /**
   * Runs (or hands over) the work for one source. Throws only failures retrying may fix, so a
   * Pub/Sub-triggered caller is redelivered exactly when retrying can help.
   */
  async handle(sourceId: string, work: AnnouncedWork, options: RunOptions): Promise<RunOutcome> {
    const { lookFrom } = options;
    const warm = options.onlyIfGmailChanged && lookFrom ? await this.warmLook(sourceId, lookFrom) : undefined;
    if (warm === null) return 'nothing-new';
    const existing = options.source ?? (await this.deps.sources.get(sourceId));
    if (!existing) return 'missing';
    if (existing.status === 'disconnected') return 'disconnected';
    // A warm look's find counts when it looked from the cursor; without a warm client, or from
    // an older point (a later pass moved the cursor), the look asks from the cursor now. Polls
    // ask without the filter (`gmailHistorySince`).
    const warmFromCursor = warm !== undefined && existing.historyId === lookFrom?.historyId;
    const looked = !options.onlyIfGmailChanged ? undefined : warmFromCursor ? warm : await this.lookFromCursor(existing);
    const seen = options.checkGmail || options.onlyIfGmailChanged ? (looked === undefined ? await this.gmailHistorySince(existing) : (looked?.historyId ?? null)) : null;
    // Nothing new at Gmail, unless work was given back with nobody holding it: that is taken.
    const orphaned = hasPending(existing.pending) && !leaseLive(existing, this.deps.clock.now());
    if (seen === null && options.onlyIfGmailChanged && !orphaned) return 'nothing-new';
    const owner = randomUUID();
    // What a look or poll saw announces itself, like a push: a holder whose listing ended
    // before it cannot take it for covered, as it could "anything after the cursor I read".
    const wanted = { ...work, gmail: maxHistoryId(work.gmail, seen) };
    const asked = looked?.page ? null : await this.earlyGmailPage(existing, wanted, options);
    const early = looked?.page ?? asked;
    let recorded: Awaited<ReturnType<SyncRunner['record']>>;
    try {
      recorded = await this.record(existing, wanted, owner, options);
    } finally {
      if (asked !== null) this.asking.delete(sourceId);
    }
    if (typeof recorded === 'string') return recorded;
    // The early page is as new as the work this trigger announced; a claim of newer work that
    // others recorded meanwhile needs a listing made after it.
    const claimedGmail = recorded.claimed.gmail;
    const earlyCovers = wanted.gmail !== null && claimedGmail !== null && !isNewerHistoryId(claimedGmail, wanted.gmail);

    let state: Holding | 'released' | 'lost' = { ...recorded, early: earlyCovers ? early : null };
    while (typeof state === 'object') state = await this.step(state, owner, options);
    // A lease lost to a successor is a hand-over: the work is recorded and theirs now.
    return state === 'released' ? 'ran' : 'recorded';
  }

  /**
   * A tail look from where the pass that asked for it got to, with the client this instance
   * holds for the same credentials, before any Firestore read: `null` when Gmail holds nothing
   * after that point (the look then costs one `history.list` and no read); when it holds
   * something, the mailbox's history id and the page read, which is the first page a pass
   * from that point reads (so the pass does not ask again); `undefined` without such a client
   * or a clear answer (read the source and look from its cursor). A look from a point older
   * than the cursor only finds more, never less.
   */
  private async warmLook(sourceId: string, from: LookFrom): Promise<TailFind | null | undefined> {
    const gmail = this.deps.google.warmGmail(sourceId, from.credentialsAt);
    return gmail === null ? undefined : this.lookAfter(() => gmail, from.historyId);
  }

  /**
   * A look from the source's cursor (as `warmLook`); an unclear answer counts as something
   * found, as a poll counts it. `undefined` when a pass would not start with a delta from the
   * cursor (never synced, a resync walk).
   */
  private async lookFromCursor(source: Source): Promise<TailFind | null | undefined> {
    const cursor = this.gmailSync.deltaStart(source);
    if (cursor === null) return undefined;
    const found = await this.lookAfter(() => this.deps.google.gmail(source), cursor);
    return found === undefined ? { historyId: historyIdAfter(cursor), page: null } : found;
  }

  /** One `history.list` after `from`, the first page a pass from there reads; `undefined` when unclear. */
  private async lookAfter(gmail: () => GmailApi | Promise<GmailApi>, from: string): Promise<TailFind | null | undefined> {
    const first = (async () => this.gmailSync.firstPage(await gmail(), from, null))();
    const page = await historySince(async () => (await first).page);
    return page ? { historyId: page.historyId, page: await first } : page;
  }

  /**
   * The mailbox's history id if Gmail holds history after the source's cursor, else `null`.
   * Transient failures are thrown (the caller retries); anything else is left to a normal
   * run from the cursor, which accounts for it.
   */
  private async gmailHistorySince(source: Source): Promise<string | null> {
    const cursor = source.historyId;
    if (cursor === null) return historyIdAfter(cursor);
    const page = await historySince(async () => (await this.deps.google.gmail(source)).listHistory(cursor, null, 1));
    return page === undefined ? historyIdAfter(cursor) : (page?.historyId ?? null);
  }

  /**
   * When this run will most likely take a free lease for new Gmail work, the pass's first
   * page is asked for alongside the write that takes it: a lone change then waits for one
   * Firestore write less. Wasted (one `history.list`) only if another trigger takes the lease
   * in between; any failure here is left to the pass itself.
   */
  private async earlyGmailPage(existing: Source, work: AnnouncedWork, options: RunOptions): Promise<EarlyPage | null> {
    const newWork = work.gmail !== null && isNewerHistoryId(work.gmail, existing.historyId);
    // A burst's triggers on this instance: only the first asks early; the rest will find its lease.
    if (!newWork || leaseLive(existing, this.deps.clock.now()) || this.asking.has(existing.id)) return null;
    this.asking.add(existing.id);
    let early: EarlyPage | null = null;
    try {
      early = this.gmailSync.earlyPage(await this.deps.google.gmail(existing), existing, options.pageSize ?? null);
    } catch {
      // No client (no usable credentials): the pass finds out and reports it.
    }
    if (early === null) this.asking.delete(existing.id);
    return early;
  }

  /** State `recording`: the work is recorded; the lease and the work are claimed if free. */
  private async record(existing: Source, work: AnnouncedWork, owner: string, options: RunOptions): Promise<Holding | 'nothing-new' | 'recorded'> {
    const { sources, clock, leaseMs } = this.deps;
    // The strongly consistent read the trigger made shows the work covered: no write.
    if (!needsRecording(existing, work, clock.now(), options.pushAt)) return existing.lease !== null ? 'recorded' : 'nothing-new';
    const now = clock.now();
    return sources.transition(existing.id, now, (source) => {
      const { patch, result } = decideRecord(source, work, owner, now, leaseMs, options.pushAt);
      return { patch, result: result.kind === 'acquired' ? { source: { ...source, ...patch }, claimed: result.claimed } : result.kind };
    });
  }

  /** State `holding`: one step over the claimed work; the next state comes from its end. */
  private async step(holding: Holding, owner: string, options: RunOptions): Promise<Holding | 'released' | 'lost'> {
    const { source, claimed, early = null } = holding;
    if (source.status === 'disconnected') {
      // Disconnected while this run held the lease: nothing more to sync, only to let go.
      const end = await this.endStep(source.id, owner, options.trigger, [], NO_PENDING, true);
      return end.kind === 'continue' ? 'released' : end.kind;
    }
    const reports: PassReport[] = [];
    if (claimed.gmail !== null && isNewerHistoryId(claimed.gmail, source.historyId)) {
      reports.push(await this.runGmail(source, owner, options, early));
    }
    // A Gmail pass that lost the grant (or the stored token) lost it for Calendar too; one
    // that lost the lease lost it for Calendar too.
    const stop = reports.some((r) => r.rethrow !== undefined || r.outcome === 'no-credentials' || r.outcome === 'lease-lost' || (typeof r.outcome === 'object' && !r.outcome.ok && r.outcome.error?.kind === 'auth-revoked'));
    if (claimed.calendar && !stop) reports.push(await this.runCalendar(source, owner, options));
    const failed = reports.find((r) => r.rethrow !== undefined);
    const stoppedShort = reports.some((r) => r.outcome === 'lease-lost');
    // A failed step, or one whose pass stopped at a lost lease, puts back what it had claimed,
    // so the successor, the retried trigger or the fallback poll finds it.
    const end = await this.endStep(source.id, owner, options.trigger, reports, claimed, failed !== undefined || stoppedShort);
    if (failed) throw failed.rethrow;
    if (stoppedShort && !leaseLive(end.source, this.deps.clock.now())) {
      // Nobody holds the source now (nobody took over, or a successor already let go): the
      // lease expired under the pass. Failing the trigger retries it.
      this.deps.logger.warn('a pass outlived its lease; its work was given back', { sourceId: source.id });
      throw new LeaseOutlivedError(source.id);
    }
    return end.kind === 'continue' ? { source: end.source, claimed: end.claimed } : end.kind;
  }

  /** The step's one atomic write: the passes' cursors and results, work left, then continue or release. */
  private async endStep(
    sourceId: string,
    owner: string,
    trigger: IngestionTrigger,
    reports: PassReport[],
    claimed: Pending,
    giveUp: boolean,
  ): Promise<StepEnd & { source: Source }> {
    const { sources, clock, leaseMs, statusSettings, logger } = this.deps;
    const now = clock.now();
    let previous: Source['status'] | undefined;
    const change = (current: Source): Source => {
      previous = current.status;
      let next = current;
      for (const report of reports) {
        if (typeof report.outcome === 'object') next = afterPass(next, report.outcome, trigger, now, statusSettings);
        // Work the Gmail pass left (its time budget): pending again, so the loop goes on.
        if (report.more) next = { ...next, pending: mergePending(next.pending, { gmail: historyIdAfter(next.historyId), calendar: false }) };
      }
      return next;
    };
    const cursors = Object.assign({}, ...reports.map((r) => r.cursors ?? {})) as StepCursors;
    const end = await sources.transition(sourceId, now, (current) => {
      const { patch, result, next } = decideStepEnd(current, { owner, now, leaseMs, claimed, giveUp, cursors, change });
      return { patch, result: { ...result, source: next } };
    });
    if (previous !== undefined && previous !== end.source.status) {
      logger.info('source status changed', { sourceId, status: end.source.status, previous, reason: end.source.statusReason });
    }
    if (end.kind === 'lost') logger.info('lease lost to a successor; it owns the work now', { sourceId });
    return end;
  }

  private async runGmail(source: Source, owner: string, options: RunOptions, early: EarlyPage | null): Promise<PassReport> {
    return this.runPass('gmail', source, options, async (startedAt) => {
      const result = await this.gmailSync.run(await this.deps.google.gmail(source), source, owner, options.pageSize ?? null, early);
      const historyRecords = result.counts.historyRecords ?? 0;
      const lookAt = followUpAt({ startedAt, historyRecords });
      const from = result.cursor !== null && source.credentialsAt !== null ? { historyId: result.cursor, credentialsAt: source.credentialsAt } : null;
      if (lookAt !== null) await this.scheduleFollowUp(source.id, lookAt, from);
      const cursors = result.cursor === null ? {} : { historyId: result.cursor };
      return { counts: result.counts, trigger: result.resynced ? 'resync' : options.trigger, more: result.more, cursors };
    });
  }

  private async runCalendar(source: Source, owner: string, options: RunOptions): Promise<PassReport> {
    return this.runPass('calendar', source, options, async () => {
      const result = await this.calendarSync.run(await this.deps.google.calendar(source), source, owner, options.pageSize ?? null);
      const cursors = result.syncToken === null ? {} : { calendarSyncToken: result.syncToken };
      return { counts: result.counts, trigger: result.fullSync && options.trigger !== 'poll' ? 'resync' : options.trigger, more: false, cursors };
    });
  }

  /** A failed schedule is not a failed sync: the fallback poll still finds the tail. */
  private async scheduleFollowUp(sourceId: string, at: Date, from: LookFrom | null): Promise<void> {
    if (this.deps.followUps === null) return;
    try {
      const scheduled = await this.deps.followUps.schedule(sourceId, at, from);
      this.deps.logger.debug('gmail follow-up', { sourceId, scheduled, at: at.toISOString() });
    } catch (error) {
      this.deps.logger.warn('gmail follow-up not scheduled', { sourceId, error: error instanceof Error ? error.message : String(error) });
    }
  }

  /**
   * Runs one sync and accounts for it: a log line, and for the exceptions an ingestion event
   * (`worthRecording`); the status change and the cursors are reported to the step's end.
   * Transient failures are marked for rethrowing (redelivery can help); permanent ones are
   * only reported; a lost lease means a successor took over.
   */
  private async runPass(
    type: PassType,
    source: Source,
    options: RunOptions,
    sync: (startedAt: Date) => Promise<{ counts: Record<string, number>; trigger: IngestionTrigger; more: boolean; cursors: StepCursors }>,
  ): Promise<PassReport> {
    const { clock, events, logger } = this.deps;
    const started = clock.now();
    const base = { sourceId: source.id, userId: source.userId, type };
    try {
      const { counts, trigger, more, cursors } = await sync(started);
      const finished = clock.now();
      const durationMs = finished.getTime() - started.getTime();
      const changed = (counts.tasksWritten ?? 0) + (counts.tasksArchived ?? 0) + (counts.tasksCancelled ?? 0) > 0;
      if (worthRecording(trigger, changed)) await events.record({ ...base, trigger, counts, durationMs, outcome: 'ok', error: null, createdAt: finished });
      logger.info(`${type} sync finished`, { sourceId: source.id, type, trigger, counts, durationMs });
      return { type, outcome: { ok: true, changed }, more, cursors };
    } catch (error) {
      if (error instanceof LeaseLostError) return { type, outcome: 'lease-lost', more: false };
      if (error instanceof CredentialsUnavailableError) {
        // Nothing to retry, nothing to report as a failure.
        logger.info(`${type} sync stopped: no usable credentials`, { sourceId: source.id, type, reason: error.why });
        return { type, outcome: 'no-credentials', more: false };
      }
      const finished = clock.now();
      const summary = describe(error);
      const durationMs = finished.getTime() - started.getTime();
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
      const outcome: PassOutcome = { ok: false, error: isGoogleError(error) ? error : null, credentialsAt: source.credentialsAt };
      const retryable = transient || !(isGoogleError(error) || error instanceof ResyncLoopError);
      return retryable ? { type, outcome, more: false, rethrow: error } : { type, outcome, more: false };
    }
  }
}

/**
 * One `history.list`: the page if Gmail holds history after its start, else `null`.
 * Transient failures are thrown (the caller retries); any other failure answers `undefined`
 * (unclear: a normal run from the cursor accounts for it).
 */
async function historySince(list: () => Promise<HistoryPage>): Promise<HistoryPage | null | undefined> {
  try {
    const page = await list();
    return page.records.length > 0 || page.nextPageToken !== null ? page : null;
  } catch (error) {
    if (isGoogleError(error) && error.transient) throw error;
    return undefined;
  }
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
