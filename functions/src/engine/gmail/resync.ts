import { resyncProgressed } from '../source/decisions';
import type { GmailResync, Source } from '../model';
import type { GmailApi } from './ports';
import type { TaskRule } from '../task-rule';
import { bump, writeTasks, type PageDeps, type PassCounts, type PassDeadline } from './pages';
import { walkTaskMail } from './walk';
import { gmailTask, listTaskMail, matches, ruleOf } from './rule';

/**
 * The Gmail resync after history expired (a 404 on history.list). It walks the task mail (rule.ts) newest-first
 * a page at a time: each page's messages that have no open task are fetched and written, and
 * the progress (the next page token) is stored on the source, so a walk that outlasts its
 * pass resumes in the next one. The walk ends at the first page that reaches a message held
 * before the resync began, at a message older than the rule's age limit, or at the end of the
 * inbox. Then the history id read when it began becomes the cursor, and the delta from there
 * catches everything that changed meanwhile. No fixed cap: nothing in the walk is dropped.
 */

/** The closing archive sweep lists at most this many pages of ids (500 each, 5 units a page). */
const SWEEP_MAX_PAGES = 10;

export interface ResyncDeps extends PageDeps {
  taskRule: TaskRule;
}

export class GmailResyncWalk {
  constructor(private readonly deps: ResyncDeps) {}

  /** Begins a walk: the mailbox history id now is its cursor once done, stored before anything is walked. */
  async begin(api: GmailApi, source: Source, owner: string, counts: PassCounts): Promise<GmailResync> {
    bump(counts, 'resyncs');
    const { historyId } = await api.getProfile();
    const progress: GmailResync = { cursor: historyId, pageToken: null, imported: 0, startedAt: this.deps.clock.now() };
    await this.save(source, owner, progress);
    return progress;
  }

  /** Walks on from `progress`; returns the new cursor when done, `null` when handed on. */
  async run(api: GmailApi, source: Source, start: GmailResync, owner: string, deadline: PassDeadline, counts: PassCounts): Promise<string | null> {
    const open = await this.deps.tasks.listOpen(source.userId, source.id, 'gmail');
    const held = new Set(open.map((t) => t.externalId));
    // Tasks the walk itself wrote do not end it: pages shift as mail arrives.
    const startedAt = start.startedAt;
    const heldBefore = new Set(open.filter((t) => t.updatedAt < startedAt).map((t) => t.externalId));
    const oldest = this.deps.clock.now().getTime() - this.deps.taskRule.gmailResyncMaxAgeMs;
    const rule = ruleOf(source);
    let walked: GmailResync = start;
    const ended = await walkTaskMail(this.deps, { api, source, owner, deadline, counts }, walked.pageToken, {
      listedKey: 'resyncListed',
      choose: (ids) => ids.filter((id) => !held.has(id)),
      onPage: async ({ ids, fetched, nextPageToken }) => {
        const matching = fetched.filter((m) => matches(rule, m));
        const young = matching.filter((m) => m.internalDate === null || m.internalDate.getTime() >= oldest);
        const now = this.deps.clock.now();
        await writeTasks(this.deps, source, { upserts: young.map((m) => gmailTask(source, m, 'open', now)), archive: [] }, now, counts);
        young.forEach((m) => held.add(m.id));
        walked = { ...walked, pageToken: nextPageToken, imported: walked.imported + young.length };
        const reachedHeld = ids.some((id) => heldBefore.has(id));
        const reachedAgeLimit = young.length < matching.length;
        const end = nextPageToken === null || reachedHeld || reachedAgeLimit;
        if (!end) await this.save(source, owner, walked);
        return end;
      },
    });
    if (!ended) return null;
    await this.sweep(api, source, owner, counts);
    await this.save(source, owner, null, walked.cursor);
    return walked.cursor;
  }

  /**
   * Open tasks whose messages left the inbox while history was lost: a listing of the inbox's
   * ids proves it, and only a complete one (bounded; a larger inbox skips the sweep).
   */
  private async sweep(api: GmailApi, source: Source, owner: string, counts: PassCounts): Promise<void> {
    const inInbox = new Set<string>();
    let pageToken: string | null = null;
    for (let page = 0; page < SWEEP_MAX_PAGES; page += 1) {
      const listed = await listTaskMail(api, ruleOf(source), pageToken, 500);
      listed.ids.forEach((id) => inInbox.add(id));
      pageToken = listed.nextPageToken;
      if (pageToken === null) break;
    }
    if (pageToken !== null) {
      bump(counts, 'sweepSkipped');
      return;
    }
    const open = await this.deps.tasks.listOpen(source.userId, source.id, 'gmail');
    const gone = open.filter((t) => !inInbox.has(t.externalId)).map((t) => t.externalId);
    const now = this.deps.clock.now();
    await this.deps.sources.extendLease(source.id, owner, now, this.deps.leaseMs);
    await writeTasks(this.deps, source, { upserts: [], archive: gone }, now, counts);
  }

  /** Stores the progress (`null`: done, with the new cursor), only while `owner` holds the lease. */
  private async save(source: Source, owner: string, progress: GmailResync | null, cursor: string | null = null): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.sources.transition(source.id, now, resyncProgressed(owner, progress, cursor, now, this.deps.leaseMs));
  }
}
