import type { Source } from '../model';
import type { SourceStore } from '../source/ports';
import { ruleLabelMissing } from '../source/rule-decisions';
import type { GmailApi } from './ports';
import { ruleOf, ruleVersionOf, userLabelOf } from './rule';

/**
 * A rule may name a user label that its owner later deletes in Gmail. Its messages then lose
 * the label (their tasks are archived like any other removal); this check notices the label
 * is gone and leaves the source degraded with a reason saying so, instead of a watch or a
 * listing on a label that no longer exists. One labels.list (1 unit), only for a user label.
 */

/** The source as recorded when its rule's label is gone; `null` when the label exists (or the rule names none). */
export async function recordMissingRuleLabel(deps: { sources: SourceStore }, api: GmailApi, source: Source, now: Date): Promise<Source | null> {
  const labelId = userLabelOf(ruleOf(source));
  if (labelId === null) return null;
  const labels = await api.listLabels();
  if (labels.some((label) => label.id === labelId)) return null;
  return deps.sources.transition(source.id, now, ruleLabelMissing(ruleVersionOf(source), labelId));
}
