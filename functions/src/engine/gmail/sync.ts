import { isGoogleError } from '../errors';
import type { Source, Task } from '../model';
import type { Clock, TaskStore } from '../ports';
import type { TaskRule } from '../task-rule';
import { bump, fetchAll, PassDeadline, writeTasks, type PageDeps, type PassCounts } from './pages';
import type { GmailApi, GmailMessageMetadata } from './ports';
import { FIRST_ATTEMPT, gmailPassCursor, pointBefore, resyncWalkAt, unreadableAdds, type PassTarget } from './read-lag';
import { GmailResyncWalk } from './resync';
import { GmailRuleApplyWalk } from './rule-apply';
import { recordMissingRuleLabel } from './rule-label';
import { decidingLabel, historyFilter, planPage, ruleOf, summariseHistory, toFetch, type MessageChanges } from './rule';

/**
 * Gmail delta sync, page by page: each history.list page's new messages are fetched, its
 * tasks written (archived or deleted → `archived`, never a deletion) and the cursor advanced
 * past it before the next page is read (the last page's cursor goes to the runner, which
 * stores it with the step's end), so tasks appear as they are fetched and a pass can stop
 * anywhere. A pass stops at its time budget and reports `more`: the runner keeps the
 * work pending, so any backlog completes. A 404 on history means the cursor is older than
 * Gmail's retained history: a resumable resync (resync.ts), then a fresh cursor.
 */

const HISTORY_PAGE_SIZE = 100;

export interface GmailSyncDeps extends PageDeps {
  tasks: TaskStore;
  /** A pass starts no new page after this long; the rest is handed on. */
  passBudgetMs: number;
  /** The clock the budget is read from (the runner's clock unless a test brings its own). */
  budgetClock?: Clock;
  taskRule: TaskRule;
}

export interface GmailSyncResult {
  resynced: boolean;
  /** The pass stopped at its budget with work left: keep it pending. */
  more: boolean;
  /** The history id the last page reached, its tasks written: stored by the step's end (no write of its own). */
  cursor: string | null;
  /** What the pass announced is not all readable yet: a look is due (gmail/read-lag.ts). */
  lagging: boolean;
  /** A resync walk waits for the lag to pass: the look that walks is due then (gmail/read-lag.ts). */
  walkAt: Date | null;
  counts: PassCounts;
}

/** One page of `history.list`, as the adapter returns it. */
export type HistoryPage = Awaited<ReturnType<GmailApi['listHistory']>>;

/**
 * A delta pass's first page, asked for before the pass could start (while its run was taking
 * the lease, or by the tail look that started it), and its cursor: used only from that cursor.
 */
export interface EarlyPage {
  from: string;
  /** The label it was filtered on: a page of another rule's label is not used. */
  labelId: string;
  page: Promise<HistoryPage>;
}

interface DeltaResult {
  more: boolean;
  cursor: string | null;
  lagging?: boolean;
  walkAt?: Date;
}

/** One pass's fixed inputs. */
interface Pass {
  api: GmailApi;
  source: Source;
  owner: string;
  pageSize: number;
  deadline: PassDeadline;
  counts: PassCounts;
  target: PassTarget;
  /** Where the cursor stops: before a message added that could not be read yet. */
  unreadableFrom: string | null;
}

/** Whether an early page is the one a delta from the source's cursor, under its rule, reads first. */
function usable(early: EarlyPage | null, source: Source): early is EarlyPage {
  return early !== null && early.from === source.historyId && early.labelId === decidingLabel(ruleOf(source));
}

/** Repeated history 404s right after a resync: reported, not retried forever. */
export class ResyncLoopError extends Error {
  constructor(readonly sourceId: string) {
    super(`Gmail history was invalid again right after a full resync of source ${sourceId}`);
    this.name = 'ResyncLoopError';
  }
}

export class GmailSync {
  private readonly resyncWalk: GmailResyncWalk;
  private readonly ruleApply: GmailRuleApplyWalk;

  constructor(private readonly deps: GmailSyncDeps) {
    this.resyncWalk = new GmailResyncWalk(deps);
    this.ruleApply = new GmailRuleApplyWalk(deps);
  }

  /**
   * The first page a delta pass from the source's cursor would read, asked for without the lease
   * (history is append-only); `null` when the pass starts otherwise (never synced, a walk).
   */
  earlyPage(api: GmailApi, source: Source, pageSize: number | null): EarlyPage | null {
    const from = this.deltaStart(source);
    return from === null ? null : this.firstPage(api, decidingLabel(ruleOf(source)), from, pageSize);
  }

  /** Where a pass over the source starts a delta: its cursor, or `null` (never synced, a resync or rule walk). */
  deltaStart(source: Source): string | null {
    return source.gmailResync === null && source.gmailRuleApply === null ? source.historyId : null;
  }

  /** The first page a delta pass from `from` under a rule deciding by `labelId` reads (same size and filter), asked for now. */
  firstPage(api: GmailApi, labelId: string, from: string, pageSize: number | null): EarlyPage {
    const page = api.listHistory(from, null, pageSize ?? HISTORY_PAGE_SIZE, historyFilter(labelId));
    // Awaited by the pass, or dropped unread: a failure must not go unhandled meanwhile.
    page.catch(() => undefined);
    return { from, labelId, page };
  }

  async run(api: GmailApi, source: Source, owner: string, pageSize: number | null, early: EarlyPage | null = null, target = FIRST_ATTEMPT): Promise<GmailSyncResult> {
    if (source.historyId === null) {
      // Never synced: start from now; the backlog is not imported.
      return { resynced: false, more: false, cursor: (await api.getProfile()).historyId, lagging: false, walkAt: null, counts: { initialised: 1 } };
    }
    const deadline = new PassDeadline(this.deps.budgetClock ?? this.deps.clock, this.deps.passBudgetMs);
    const pass: Pass = { api, source, owner, pageSize: pageSize ?? HISTORY_PAGE_SIZE, deadline, counts: {}, target, unreadableFrom: null };
    // A rule change is applied first; the delta then brings what changed meanwhile under the new rule.
    const applied = await this.ruleApply.run(pass, source.historyId);
    if (applied === null) return { resynced: false, more: true, cursor: null, lagging: false, walkAt: null, counts: pass.counts };
    if (source.gmailResync === null) {
      const delta = applied === true ? await this.deltaUnlessExpired(pass, source.historyId, usable(early, source) ? early.page : null) : await this.afterRuleWalk(pass, applied);
      if (delta !== null) return { resynced: false, lagging: false, walkAt: null, ...delta, counts: pass.counts };
    }
    const resync = await this.resync(pass);
    // A walk waiting for the lag to pass has resynced nothing yet.
    return { resynced: resync.walkAt === undefined, lagging: false, walkAt: null, ...resync, counts: pass.counts };
  }

  /** The delta from `start`, or `null` when history no longer reaches back there. */
  private async deltaUnlessExpired(pass: Pass, start: string, firstPage: Promise<HistoryPage> | null = null): Promise<DeltaResult | null> {
    try {
      return await this.delta(pass, start, firstPage);
    } catch (error) {
      if (!isGoogleError(error, 'cursor-invalid')) throw error;
      return null;
    }
  }

  /** After a rule change's walk, the delta from the cursor held when it began; if history has expired there, `null`: a resync, which waits out the lag the walk's listing may have missed mail under. */
  private async afterRuleWalk(pass: Pass, from: string): Promise<DeltaResult | null> {
    const delta = await this.deltaUnlessExpired(pass, from);
    if (delta === null) bump(pass.counts, 'ruleWalkCursorExpired');
    return delta;
  }

  /** The resync walk, then the delta that catches whatever changed while it walked. */
  private async resync(pass: Pass): Promise<DeltaResult> {
    // A walk begun in an earlier pass has an older cursor, which history may have outlived.
    const resumed = pass.source.gmailResync !== null;
    const progress = pass.source.gmailResync ?? (await this.resyncWalk.begin(pass.api, pass.source, pass.owner, pass.counts));
    const walkAt = resyncWalkAt(progress, this.deps.clock.now());
    if (walkAt !== null) {
      bump(pass.counts, 'resyncWaiting');
      return { more: false, cursor: null, walkAt };
    }
    const cursor = await this.resyncWalk.run(pass.api, pass.source, progress, pass.owner, pass.deadline, pass.counts);
    if (cursor === null) return { more: true, cursor: null };
    const delta = await this.deltaUnlessExpired(pass, cursor);
    if (delta !== null) return delta;
    if (!resumed) throw new ResyncLoopError(pass.source.id);
    // History expired again during a long walk: the next pass walks again (briefly: it
    // stops at what this walk imported) from a fresh cursor.
    bump(pass.counts, 'resyncOutlived');
    return { more: true, cursor: null };
  }

  /**
   * History pages from `start`, each page's tasks written before the next is read; the cursor
   * is stored past each page but the last, whose history id is returned to the runner.
   */
  private async delta(pass: Pass, start: string, firstPage: Promise<HistoryPage> | null): Promise<DeltaResult> {
    const { api, source, owner, counts } = pass;
    let cursor = start;
    let pageToken: string | null = null;
    for (let page = 0; ; page += 1) {
      if (page > 0 && pass.deadline.reached()) {
        bump(counts, 'budgetReached');
        return { more: true, cursor: null };
      }
      const result: HistoryPage = page === 0 && firstPage !== null ? await firstPage : await api.listHistory(start, pageToken, pass.pageSize, historyFilter(decidingLabel(ruleOf(source))));
      await this.applyPage(pass, result);
      pageToken = result.nextPageToken;
      const lastRecord = result.records[result.records.length - 1]?.id ?? (cursor === start ? null : cursor);
      // At the end, the last record listed is as far as this pass has read (read-lag.ts).
      if (pageToken === null) return { more: false, ...this.endOfListing(pass, start, lastRecord) };
      // Mid-listing, the page's last record is (never past a message it could not read).
      cursor = lastRecord ?? cursor;
      if (pass.unreadableFrom === null) await this.deps.sources.advanceHistoryId(source.id, owner, cursor, this.deps.clock.now(), this.deps.leaseMs);
    }
  }

  /** Where the listing leaves the cursor (gmail/read-lag.ts): at the last record listed, before what it could not read. */
  private endOfListing(pass: Pass, start: string, lastRecord: string | null): { cursor: string; lagging: boolean } {
    const { announced, final } = pass.target;
    const reach = gmailPassCursor({ start, lastRecord, announced, unreadableFrom: pass.unreadableFrom, final });
    if (reach.lagging) bump(pass.counts, 'lagging');
    return reach;
  }

  /** One history page's tasks, written. */
  private async applyPage(pass: Pass, result: HistoryPage): Promise<void> {
    const { api, source, owner, counts } = pass;
    bump(counts, 'historyPages');
    bump(counts, 'historyRecords', result.records.length);
    const changes = summariseHistory(ruleOf(source), result.records);
    const fetched = await fetchAll(this.deps, api, source, owner, toFetch(changes), counts);
    this.holdUnreadable(pass, result, changes, fetched);
    const now = this.deps.clock.now();
    const plan = planPage(source, changes, fetched, now);
    bump(counts, 'goneBeforeFetch', plan.goneBeforeFetch);
    // A message history reports added has no task yet (unless this page is done again).
    const isNew = (task: Task) => changes.get(task.externalId)?.added === true;
    await writeTasks(this.deps, source, { upserts: plan.upserts, archive: plan.archive, isNew }, now, counts);
    // A user label the rule decides by, removed: perhaps deleted (its messages all lose it).
    if ([...changes.values()].some((c) => c.ruleRemoved)) await recordMissingRuleLabel(this.deps, api, source, now);
  }

  /**
   * Messages history added that answer 404 may not be readable yet: before the last attempt
   * they are left out of the page's plan (the others are written) and the cursor stays before
   * them; on the last attempt they count as deleted.
   */
  private holdUnreadable(pass: Pass, page: HistoryPage, changes: Map<string, MessageChanges>, fetched: Map<string, GmailMessageMetadata | null>): void {
    const unreadable = unreadableAdds(changes, fetched);
    if (unreadable.length === 0) return;
    if (pass.target.final) {
      bump(pass.counts, 'unreadableTreatedAsDeleted', unreadable.length);
      return;
    }
    bump(pass.counts, 'unreadableHeld', unreadable.length);
    unreadable.forEach((id) => fetched.delete(id));
    pass.unreadableFrom ??= pointBefore(page.records, unreadable);
  }
}
