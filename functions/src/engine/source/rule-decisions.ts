import type { GmailRule } from '../gmail-rule-schema';
import { ruleVersionOf } from '../gmail/rule';
import type { Source } from '../model';
import { writing, type SourceDecision } from './decisions';

/** The writes that store a source's Gmail intake rule: its version only grows. */

/** The owner's new rule replaces the current one, one version up. */
export function ruleReplaced(rule: GmailRule, now: Date): SourceDecision<Source> {
  return (source, derive) => writing(source, { gmailRule: { version: ruleVersionOf(source) + 1, rule, changedAt: now } }, derive);
}
