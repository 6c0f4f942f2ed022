import type { GmailRuleApply } from '../gmail-rule-schema';
import { ruleApplyProgressed } from '../source/rule-decisions';
import type { TaskRule } from '../task-rule';
import { bump, fetchAll, writeTasks, type PageDeps } from './pages';
import { gmailTask, matches, ruleOf } from './rule';
import { walkTaskMail, type WalkPass } from './walk';

/**
 * Applying a changed intake rule at once and completely, resumably, inside Gmail passes (so
 * under the lease, bounded by the pass budget and the account's quota limiter): the new
 * rule's label is walked newest-first back to `RULE_BACKFILL_DAYS` and every message there
 * that matches becomes an open task (one that no longer matches is archived); then the open
 * tasks written before the walk began are checked against the new rule, a page at a time, and
 * those that no longer match are archived. Progress is stored after each page and only while
 * this change is the current one: a newer rule starts over. The delta from the cursor held
 * when the walk began runs after it, under the new rule: changes that arrived meanwhile, and
 * any the walk's listing did not serve yet, are applied then.
 */

const SWEEP_PAGE = 100;

export interface RuleApplyDeps extends PageDeps {
  taskRule: TaskRule;
}

export class GmailRuleApplyWalk {
  constructor(private readonly deps: RuleApplyDeps) {}

  /**
   * Applies on from the stored progress: `true` when there was nothing to apply, the history id
   * the delta goes on from once applied, `null` when handed on (or superseded). `cursor`: the
   * source's Gmail cursor as the pass holds it.
   */
  async run(pass: WalkPass, cursor: string): Promise<true | string | null> {
    let progress = pass.source.gmailRuleApply;
    if (progress === null) return true;
    if (progress.cursor === null) {
      // The delta after the walk goes on from the cursor the pass holds, never from a later
      // point: a change after it that the walk's listing does not serve yet (read-after-push
      // lag) is listed by that delta.
      // The sweep checks the tasks written before now, not before the change: a pass that held
      // the lease when the rule changed still judged by the old one, and its tasks must be checked.
      progress = { ...progress, cursor, startedAt: this.deps.clock.now() };
      if (!(await this.save(pass, progress))) return null;
    }
    if (progress.phase === 'walk') {
      const walked = await this.walk(pass, progress);
      if (walked === null) return null;
      progress = walked;
    }
    return (await this.sweep(pass, progress)) ? progress.cursor : null;
  }

  /** The walk of the new rule's label; the progress at its end, or `null` when handed on. */
  private async walk(pass: WalkPass, start: GmailRuleApply): Promise<GmailRuleApply | null> {
    const { source, counts } = pass;
    const rule = ruleOf(source);
    const held = new Set((await this.deps.tasks.listOpen(source.userId, source.id, 'gmail')).map((t) => t.externalId));
    const oldest = this.deps.clock.now().getTime() - this.deps.taskRule.gmailRuleBackfillMs;
    let progress = start;
    let current = true;
    const ended = await walkTaskMail(this.deps, pass, start.pageToken, {
      listedKey: 'ruleListed',
      choose: (ids) => ids,
      onPage: async ({ fetched, nextPageToken }) => {
        const young = fetched.filter((m) => m.internalDate === null || m.internalDate.getTime() >= oldest);
        const now = this.deps.clock.now();
        const fresh = young.filter((m) => matches(rule, m) && !held.has(m.id));
        const left = young.filter((m) => !matches(rule, m) && held.has(m.id)).map((m) => m.id);
        await writeTasks(this.deps, source, { upserts: fresh.map((m) => gmailTask(source, m, 'open', now)), archive: left }, now, counts);
        fresh.forEach((m) => held.add(m.id));
        bump(counts, 'ruleImported', fresh.length);
        const end = nextPageToken === null || young.length < fetched.length;
        progress = end ? { ...progress, phase: 'sweep', pageToken: null, imported: progress.imported + fresh.length } : { ...progress, pageToken: nextPageToken, imported: progress.imported + fresh.length };
        current = await this.save(pass, progress);
        return end || !current;
      },
    });
    return ended && current ? progress : null;
  }

  /**
   * The open tasks written before the walk began, in id order a page at a time from where the
   * last page stopped: each one's message must match the new rule, else its task is archived.
   */
  private async sweep(pass: WalkPass, start: GmailRuleApply): Promise<boolean> {
    const { api, source, owner, counts } = pass;
    const rule = ruleOf(source);
    const open = await this.deps.tasks.listOpen(source.userId, source.id, 'gmail');
    const before = open
      .filter((t) => t.updatedAt < start.startedAt && (start.pageToken === null || t.externalId > start.pageToken))
      .map((t) => t.externalId)
      .sort();
    let progress = start;
    for (let i = 0; i < before.length; i += SWEEP_PAGE) {
      if (i > 0 && pass.deadline.reached()) {
        bump(counts, 'budgetReached');
        return false;
      }
      const ids = before.slice(i, i + SWEEP_PAGE);
      const metas = await fetchAll(this.deps, api, source, owner, ids, counts);
      const now = this.deps.clock.now();
      const left = ids.filter((id) => !matches(rule, metas.get(id)));
      await writeTasks(this.deps, source, { upserts: [], archive: left }, now, counts);
      progress = { ...progress, pageToken: ids[ids.length - 1] ?? null };
      if (!(await this.save(pass, progress))) return false;
    }
    return this.save(pass, null, progress);
  }

  /** Stores the progress (`null`: applied, the cursor moved to `done`'s); `false` when a newer rule superseded this change. */
  private save(pass: WalkPass, progress: GmailRuleApply | null, done: GmailRuleApply | null = null): Promise<boolean> {
    const now = this.deps.clock.now();
    const version = progress?.version ?? done?.version ?? 0;
    const decision = ruleApplyProgressed(pass.owner, version, progress, now, this.deps.leaseMs, done?.cursor ?? null);
    return this.deps.sources.transition(pass.source.id, now, decision);
  }
}
