import type { CalendarEvent } from '../calendar/ports';
import { judgeEvent, type CalendarWindow } from '../task-rule';
import type { EventRules, Source, Task } from '../model';
import { writing, type SourceDecision } from '../source/decisions';
import { matches } from '../gmail/rule';
import type { GmailRule } from '../gmail-rule-schema';
import type { GmailMessageMetadata } from '../gmail/ports';

/**
 * The completeness audit's pure decisions: given what Google shows and what our tasks say,
 * which items are missing, which are in the wrong state, and where a listing can stop.
 */

/**
 * What one listed id needs: nothing, a task written if it is task mail (missing), or its task
 * reopened if it is task mail (reopen): the listing shows the deciding label only, so both are
 * confirmed from the message's metadata against the rule's exclusions.
 */
export type GmailVerdict = 'ok' | 'missing' | 'reopen' | 'older';

/**
 * A message Gmail lists under the rule's deciding label. A task mail's task must exist and be
 * open. A task written before the window proves the message older than it (tasks are written
 * after their message arrives), so the newest-first listing can stop there.
 */
export function gmailListedVerdict(task: Task | undefined, since: Date): GmailVerdict {
  if (task === undefined) return 'missing';
  if (task.updatedAt < since) return 'older';
  return task.status === 'open' ? 'ok' : 'reopen';
}

/**
 * A message we had no task for, once its metadata is known. `null`: deleted meanwhile.
 * Before the window (or before the source was connected: no backlog is imported) it ends
 * the listing; after `settledBefore` a sync may still be on its way, so it is left alone.
 */
export function gmailFetchedVerdict(
  rule: GmailRule,
  meta: Pick<GmailMessageMetadata, 'labelIds' | 'internalDate' | 'from' | 'listUnsubscribe' | 'precedence'> | null,
  since: Date,
  settledBefore: Date,
): 'missing' | 'older' | 'skip' {
  if (meta === null || !matches(rule, meta)) return 'skip';
  if (meta.internalDate !== null && meta.internalDate < since) return 'older';
  if (meta.internalDate !== null && meta.internalDate > settledBefore) return 'skip';
  return 'missing';
}

/** Open tasks of the window whose message the task-mail listing did not show: maybe archived. */
export function openTasksNotListed(open: readonly Task[], listed: ReadonlySet<string>, settledBefore: Date): Task[] {
  return open.filter((t) => !listed.has(t.externalId) && t.updatedAt <= settledBefore);
}

export type CalendarVerdict = 'ok' | 'missing' | 'stale' | 'cancel' | 'skip';

/**
 * An event Calendar reports as modified in the window. A live event needs an open task at
 * least as new as the event; a cancelled one needs its task (if any) cancelled.
 */
export function calendarVerdict(event: CalendarEvent, task: Task | undefined, settledBefore: Date, window: CalendarWindow, rules: EventRules): CalendarVerdict {
  if (event.updated !== null && event.updated > settledBefore) return 'skip';
  // The syncs' own rule (README, "What becomes a task") decides what should be a task.
  const judged = judgeEvent(event, window, rules);
  if (judged === 'ignore') return 'skip';
  if (judged === 'cancel' || judged === 'exclude') return task !== undefined && task.status !== 'cancelled' ? 'cancel' : 'ok';
  if (task === undefined) return 'missing';
  const behind = event.updated !== null && task.externalUpdatedAt < event.updated;
  return behind || task.status !== 'open' ? 'stale' : 'ok';
}

/** Consecutive audits that had to repair something; two in a row means something upstream is broken. */
export function nextRepairStreak(previous: number, repaired: number): number {
  return repaired > 0 ? previous + 1 : 0;
}

/** The source's write when an audit finished: when, and the repair streak. */
export function auditFinished(finishedAt: Date, repaired: number): SourceDecision<Source> {
  return (source, derive) => writing(source, { lastAuditAt: finishedAt, auditRepairStreak: nextRepairStreak(source.auditRepairStreak, repaired) }, derive);
}
