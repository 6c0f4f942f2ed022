import { randomUUID } from 'node:crypto';
import { CalendarSync } from '../calendar/sync';
import { LeaseOutlivedError } from '../errors';
import { historyIdAfter, isNewerHistoryId, maxHistoryId } from '../gmail/history-id';
import { GmailSync, type EarlyPage } from '../gmail/sync';
import { NO_PENDING, type AnnouncedWork, type Pending, type Source } from '../model';
import type { Clock, EventLog, GoogleAccess, Logger, TaskStore } from '../ports';
import { decideRecord, decideStepEnd, hasPending, leaseLive, mergeCursors, mergePending, needsRecording, outstanding, type StepEnd } from '../source/lease';
import { afterPass } from '../source/pass-outcome';
import type { SourceStore } from '../source/ports';
import type { StatusSettings } from '../source/status';
import type { TaskRule } from '../task-rule';
import type { FollowUpScheduler } from './follow-up';
import { GmailProber, type GmailProbe } from './gmail-probe';
import { Looks, passTarget } from './looks';
import { askCalendarsFirst, pollFoundNothing } from './poll-first';
import { logStatusChange } from './status-log';
import { runCalendarPasses } from './calendar-passes';
import { calendarLagAttempt } from './calendar-lag';
import { changedTasks, runPass, stopsTheStep, type PassResult } from './pass';
import { announcedWork, pushAtOf, triggerOf, type RunOptions, type RunTrigger } from './trigger';
import { LOG_EVENTS } from '../../observability/log-events';

/**
 * The sync runner: a trigger records its work as pending and tries to take the source's
 * lease; the holder runs steps — sync what it claimed, then in one atomic write store the
 * cursors, apply the passes' results and either claim what arrived meanwhile or release —
 * until nothing is left. Everyone else returns at once: their work is recorded and the holder
 * will see it. Bursts coalesce without timers; a burst's unannounced tail gets a scheduled
 * look (follow-up.ts), never a wait.
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

export type { RunOptions, RunTrigger } from './trigger';

export type RunOutcome = 'ran' | 'recorded' | 'nothing-new' | 'disconnected' | 'missing';

/** What triggers need from a runner; the benchmark swaps in simpler strategies behind it. */
export abstract class Runner {
  abstract run(sourceId: string, trigger: RunTrigger): Promise<RunOutcome>;

  /** The same run, its trigger given as flags (tests and tools). */
  handle(sourceId: string, work: AnnouncedWork, options: RunOptions): Promise<RunOutcome> {
    return this.run(sourceId, triggerOf(work, options));
  }
}

/** Holding the lease: the source as the last write left it, the work claimed, the first Gmail page if asked early. */
interface Holding {
  kind: 'holding';
  source: Source;
  claimed: Pending;
  early: EarlyPage | null;
}

/** Finished: released (`ran`), handed over (`recorded`: a holder or a successor owns the work), or nothing to record. */
type RunState = Holding | { kind: 'finished'; outcome: RunOutcome };

const finished = (outcome: RunOutcome): RunState => ({ kind: 'finished', outcome });
/** A step's end as the run's next state: a lease lost to a successor is a hand-over. */
const afterEnd = (end: StepEnd & { source: Source }): RunState =>
  end.kind === 'continue' ? { kind: 'holding', source: end.source, claimed: end.claimed, early: null } : finished(end.kind === 'released' ? 'ran' : 'recorded');

/** One run: who it is (the lease owner) and what started it. */
interface Run {
  owner: string;
  trigger: RunTrigger;
}

export class SyncRunner extends Runner {
  private readonly gmailSync: GmailSync;
  private readonly calendarSync: CalendarSync;
  private readonly prober: GmailProber;
  private readonly looks: Looks;

  constructor(private readonly deps: RunnerDeps) {
    super();
    this.gmailSync = new GmailSync(deps);
    this.calendarSync = new CalendarSync(deps);
    this.prober = new GmailProber(deps, this.gmailSync);
    this.looks = new Looks(deps);
  }

  /**
   * Runs (or hands over) the work for one source. Throws only failures retrying may fix, so a
   * Pub/Sub-triggered caller is redelivered exactly when retrying can help.
   */
  async run(sourceId: string, trigger: RunTrigger): Promise<RunOutcome> {
    if (await this.looks.cameEarly(sourceId, trigger)) return 'nothing-new';
    const warm = await this.prober.warmLook(sourceId, trigger);
    if (warm.kind === 'nothing') return this.nothingYet(sourceId, trigger);
    const source = (trigger.kind === 'announced' ? trigger.source : undefined) ?? (await this.deps.sources.get(sourceId));
    if (!source) return 'missing';
    if (source.status === 'disconnected') return 'disconnected';
    const asked = await askCalendarsFirst(this.deps, source, trigger);
    const probe = await this.prober.probe(source, trigger, warm);
    if (this.nothingToDo(source, trigger, probe)) return this.nothingYet(sourceId, trigger);
    if (await pollFoundNothing(this.deps, source, asked, probe)) return 'nothing-new';
    const run: Run = { owner: randomUUID(), trigger };
    let state = await this.record(source, run, probe);
    while (state.kind === 'holding') state = await this.step(state, run);
    return state.outcome;
  }

  /** A look found nothing at Gmail: a retry at lagging work asks for the next one. */
  private async nothingYet(sourceId: string, trigger: RunTrigger): Promise<RunOutcome> {
    await this.looks.nothingYet(sourceId, trigger);
    return 'nothing-new';
  }

  /** A look that found nothing at Gmail, unless work was given back with nobody holding it (or a walk is due): that is taken. */
  private nothingToDo(source: Source, trigger: RunTrigger, probe: GmailProbe): boolean {
    const now = this.deps.clock.now();
    const orphaned = hasPending(outstanding(source, now)) && !leaseLive(source, now);
    return trigger.kind === 'look' && probe.seen === null && !orphaned;
  }

  /**
   * State `recording`: the work is recorded; the lease and the work are claimed if free. What
   * a look or poll saw announces itself, like a push: a holder whose listing ended before it
   * cannot take it for covered, as it could "anything after the cursor I read".
   */
  private async record(existing: Source, run: Run, probe: GmailProbe): Promise<RunState> {
    const announced = announcedWork(run.trigger);
    const work = { ...announced, gmail: maxHistoryId(announced.gmail, probe.seen) };
    const asked = probe.page === null ? await this.prober.earlyPage(existing, work, run.trigger.pageSize ?? null) : null;
    let recorded: Holding | 'nothing-new' | 'recorded';
    try {
      recorded = await this.claim(existing, work, run);
    } finally {
      asked?.release();
    }
    if (typeof recorded === 'string') return finished(recorded);
    // The early page is as new as the work this trigger announced; a claim of newer work that
    // others recorded meanwhile needs a listing made after it.
    const claimedGmail = recorded.claimed.gmail;
    const earlyCovers = work.gmail !== null && claimedGmail !== null && !isNewerHistoryId(claimedGmail, work.gmail);
    return { ...recorded, early: earlyCovers ? (probe.page ?? asked?.page ?? null) : null };
  }

  /** The one write that records the work, and takes the lease when it is free. */
  private async claim(existing: Source, work: AnnouncedWork, run: Run): Promise<Holding | 'nothing-new' | 'recorded'> {
    const { sources, clock, leaseMs } = this.deps;
    const pushAt = pushAtOf(run.trigger);
    // The strongly consistent read the trigger made shows the work covered: no write.
    if (!needsRecording(existing, work, clock.now(), pushAt)) return existing.lease !== null ? 'recorded' : 'nothing-new';
    const now = clock.now();
    return sources.transition(existing.id, now, (source) => {
      const { patch, result } = decideRecord(source, work, run.owner, now, leaseMs, pushAt);
      const next: Holding | 'nothing-new' | 'recorded' = result.kind === 'acquired' ? { kind: 'holding', source: { ...source, ...patch }, claimed: result.claimed, early: null } : result.kind;
      return { patch, result: next };
    });
  }

  /** State `holding`: one step over the claimed work; the next state comes from its end. */
  private async step(holding: Holding, run: Run): Promise<RunState> {
    const { source, claimed } = holding;
    if (source.status === 'disconnected') {
      // Disconnected while this run held the lease: nothing more to sync, only to let go.
      const end = await this.endStep(source.id, run, [], NO_PENDING, true);
      return end.kind === 'continue' ? finished('ran') : afterEnd(end);
    }
    const results = await this.passes(holding, run);
    const failed = results.find((r) => r.kind === 'done' && r.rethrow !== undefined);
    const stoppedShort = results.some((r) => r.kind === 'lease-lost');
    // A failed step, or one whose pass stopped at a lost lease, puts back what it had claimed,
    // so the successor, the retried trigger or the fallback poll finds it.
    const end = await this.endStep(source.id, run, results, claimed, failed !== undefined || stoppedShort);
    if (failed?.kind === 'done') throw failed.rethrow;
    if (stoppedShort && !leaseLive(end.source, this.deps.clock.now())) {
      // Nobody holds the source now (nobody took over, or a successor already let go): the
      // lease expired under the pass. Failing the trigger retries it.
      this.deps.logger.warn(LOG_EVENTS.passOutlivedLease, { sourceId: source.id });
      throw new LeaseOutlivedError(source.id);
    }
    return afterEnd(end);
  }

  /** The step's passes: Gmail first when its claimed work is new; Calendar unless the Gmail pass stopped the step. */
  private async passes(holding: Holding, run: Run): Promise<PassResult[]> {
    const { source, claimed, early } = holding;
    const results: PassResult[] = [];
    if (claimed.gmail !== null && isNewerHistoryId(claimed.gmail, source.historyId)) results.push(await this.runGmail(source, run, early, claimed.gmail));
    if (!results.some(stopsTheStep)) {
      const lagAttempt = calendarLagAttempt(run.trigger);
      const lookAgain = (calendarId: string, at: Date) => this.looks.scheduleCalendar(source.id, at, { calendars: [calendarId], retry: lagAttempt + 1 });
      results.push(...(await runCalendarPasses(this.deps, this.calendarSync, source, claimed, { owner: run.owner, trigger: run.trigger.trigger, pageSize: run.trigger.pageSize ?? null, lagAttempt, lookAgain })));
    }
    return results;
  }

  /** The step's one atomic write: the passes' cursors and results, work left, then continue or release. */
  private async endStep(sourceId: string, run: Run, results: PassResult[], claimed: Pending, giveUp: boolean): Promise<StepEnd & { source: Source }> {
    const { sources, clock, leaseMs, statusSettings, logger } = this.deps;
    const now = clock.now();
    const done = results.flatMap((r) => (r.kind === 'done' ? [r] : []));
    const trigger = run.trigger.trigger;
    const change = (current: Source): Source =>
      done.reduce((next, r) => {
        const after = afterPass(next, r.outcome, { trigger, calendarId: r.calendarId }, now, statusSettings);
        // Work the Gmail pass left (its time budget): pending again, so the loop goes on.
        return r.more ? { ...after, pending: mergePending(after.pending, { ...NO_PENDING, gmail: historyIdAfter(after.historyId) }) } : after;
      }, current);
    const cursors = mergeCursors(done.map((r) => r.cursors));
    // A Gmail pass that failed or found no credentials is not run again in this run for a walk.
    const gmailFailed = results.some((r) => r.type === 'gmail' && (r.kind !== 'done' || !r.outcome.ok));
    const end = await sources.transition(sourceId, now, (current) => {
      const { patch, result, next } = decideStepEnd(current, { owner: run.owner, now, leaseMs, claimed, giveUp, cursors, change, gmailFailed });
      return { patch, result: { ...result, source: next, previous: current.status } };
    });
    logStatusChange(logger, sourceId, end.previous, end.source);
    if (end.kind === 'lost') logger.info(LOG_EVENTS.leaseLost, { sourceId });
    return end;
  }

  private async runGmail(source: Source, run: Run, early: EarlyPage | null, announced: string): Promise<PassResult> {
    const trigger = run.trigger.trigger;
    return runPass(this.deps, 'gmail', source, trigger, async (startedAt) => {
      const target = passTarget(run.trigger, announced);
      const result = await this.gmailSync.run(await this.deps.google.gmail(source), source, run.owner, run.trigger.pageSize ?? null, early, target);
      await this.looks.afterPass(source, run.trigger, startedAt, result);
      const cursors = result.cursor === null ? {} : { historyId: result.cursor };
      return { counts: result.counts, changed: changedTasks(result.counts), trigger: result.resynced ? 'resync' : trigger, more: result.more, cursors };
    });
  }
}
