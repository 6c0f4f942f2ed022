import { LeaseLostError } from '../errors';
import type { GmailRule, GmailRuleApply } from '../gmail-rule-schema';
import { isNewerHistoryId } from '../gmail/history-id';
import { holds, leaseFor } from './lease';
import { ruleVersionOf } from '../gmail/rule';
import type { Source } from '../model';
import { writing, type SourceDecision } from './decisions';

/** The writes that store a source's Gmail intake rule: its version only grows. */

/**
 * The owner's new rule replaces the current one, one version up, and is applied from the
 * start (a change still being applied is superseded). A source never synced has no backlog
 * to apply it to: its first pass starts from now under the new rule.
 */
export function ruleReplaced(rule: GmailRule, now: Date): SourceDecision<Source> {
  return (source, derive) => {
    const version = ruleVersionOf(source) + 1;
    const apply: GmailRuleApply | null = source.historyId === null ? null : { version, phase: 'walk', cursor: null, pageToken: null, imported: 0, startedAt: now };
    return writing(source, { gmailRule: { version, rule, changedAt: now, problem: null }, gmailRuleApply: apply }, derive);
  };
}

/**
 * A rule change's progress (`null`: applied), written only by the lease holder (the same write
 * extends the lease) and only while that change is the one being applied: a newer rule's
 * change restarts the work, and the older walk's progress is dropped (result `false`).
 */
export function ruleApplyProgressed(owner: string, version: number, progress: GmailRuleApply | null, now: Date, leaseMs: number, cursor: string | null = null): SourceDecision<boolean> {
  return (source, derive) => {
    if (!holds(source, owner, now)) throw new LeaseLostError(source.id, owner);
    if (source.gmailRuleApply?.version !== version) return { patch: null, result: false };
    const advance = cursor !== null && isNewerHistoryId(cursor, source.historyId);
    const { patch } = writing(source, { gmailRuleApply: progress, lease: leaseFor(owner, now, leaseMs), ...(advance && { historyId: cursor }) }, derive);
    return { patch, result: true };
  };
}

/**
 * The label rule `version` decides by no longer exists: the source is degraded and says so
 * until its owner chooses another rule (a newer rule is not touched).
 */
export function ruleLabelMissing(version: number, labelId: string): SourceDecision<Source> {
  return (source, derive) => {
    const stored = source.gmailRule;
    if (stored === null || stored.version !== version || stored.problem !== null) return { patch: null, result: source };
    const problem = `The Gmail label this source's rule takes tasks from (${labelId}) was deleted: choose another rule`;
    return writing(source, { gmailRule: { ...stored, problem } }, derive);
  };
}
