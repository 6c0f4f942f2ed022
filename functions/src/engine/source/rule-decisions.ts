import type { GmailRule } from '../gmail-rule-schema';
import { ruleVersionOf } from '../gmail/rule';
import type { Source } from '../model';
import { writing, type SourceDecision } from './decisions';

/** The writes that store a source's Gmail intake rule: its version only grows. */

/** The owner's new rule replaces the current one, one version up. */
export function ruleReplaced(rule: GmailRule, now: Date): SourceDecision<Source> {
  return (source, derive) => writing(source, { gmailRule: { version: ruleVersionOf(source) + 1, rule, changedAt: now, problem: null } }, derive);
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
