import * as z from 'zod';
import { gmailRuleSchema, gmailSelectorSchema, type GmailRule } from '../gmail-rule-schema';
import type { GmailLabel } from '../gmail/ports';
import { ruleOf, ruleVersionOf, userLabelOf } from '../gmail/rule';
import type { Source } from '../model';
import type { Clock, GoogleAccess } from '../ports';
import { ruleReplaced } from '../source/rule-decisions';
import type { SourceStore } from '../source/ports';
import type { SyncRequestPublisher } from '../jobs/ports';
import { registerGmailWatch, type WatchDeps } from './watches';

/**
 * Reading and replacing a source's Gmail intake rule, and listing the account's labels for a
 * picker: for the source's owner only (someone else's source looks like a missing one). A
 * replacement is checked whole (schema, then that a named label exists) and every problem is
 * named; a refused one changes nothing.
 */

export interface RuleDeps {
  sources: SourceStore;
  google: GoogleAccess;
  clock: Clock;
  watchDeps: WatchDeps;
  publisher: SyncRequestPublisher;
}

export interface RuleView {
  sourceId: string;
  version: number;
  rule: GmailRule;
  /** Why the rule cannot apply (its label was deleted), else `null`. */
  problem: string | null;
}

export type Owned<T> = { ok: true; value: T } | { ok: false; why: 'not-found' | 'disconnected' };
export type Replaced = Owned<RuleView> | { ok: false; why: 'invalid'; problems: string[] };

const view = (source: Source): RuleView => ({ sourceId: source.id, version: ruleVersionOf(source), rule: ruleOf(source), problem: source.gmailRule?.problem ?? null });

async function ownedSource(deps: Pick<RuleDeps, 'sources'>, sourceId: string, userId: string): Promise<Source | null> {
  const source = await deps.sources.get(sourceId);
  return source !== null && source.userId === userId ? source : null;
}

export async function readRule(deps: Pick<RuleDeps, 'sources'>, input: { sourceId: string; userId: string }): Promise<Owned<RuleView>> {
  const source = await ownedSource(deps, input.sourceId, input.userId);
  return source === null ? { ok: false, why: 'not-found' } : { ok: true, value: view(source) };
}

/** The account's labels (id, name, type), which needs a live source. */
export async function listLabels(deps: RuleDeps, input: { sourceId: string; userId: string }): Promise<Owned<GmailLabel[]>> {
  const source = await ownedSource(deps, input.sourceId, input.userId);
  if (source === null) return { ok: false, why: 'not-found' };
  if (source.status === 'disconnected') return { ok: false, why: 'disconnected' };
  return { ok: true, value: await (await deps.google.gmail(source)).listLabels() };
}

function describe(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message));
}

/** The user label a body names, when its selector alone is well-formed (so it is checked even if the rest is not). */
function namedLabel(body: unknown): string | null {
  const selector = gmailSelectorSchema.safeParse((body as { selector?: unknown } | null)?.selector);
  return selector.success && selector.data.kind === 'label' ? selector.data.labelId : null;
}

/** Every problem with a body: the schema's, and a label the account does not have. */
async function problemsWith(deps: RuleDeps, source: Source, body: unknown): Promise<{ rule: GmailRule | null; problems: string[] }> {
  const parsed = gmailRuleSchema.safeParse(body);
  const problems = parsed.success ? [] : describe(parsed.error.issues);
  const labelId = parsed.success ? userLabelOf(parsed.data) : namedLabel(body);
  if (labelId !== null) {
    const labels = await (await deps.google.gmail(source)).listLabels();
    if (!labels.some((l) => l.id === labelId)) problems.push(`selector.labelId: no label ${labelId} in this account`);
  }
  return { rule: parsed.success && problems.length === 0 ? parsed.data : null, problems };
}

/** Replaces the rule after checking the body whole; the new version is the stored one plus one. */
export async function replaceRule(deps: RuleDeps, input: { sourceId: string; userId: string; body: unknown }): Promise<Replaced> {
  const source = await ownedSource(deps, input.sourceId, input.userId);
  if (source === null) return { ok: false, why: 'not-found' };
  if (source.status === 'disconnected') return { ok: false, why: 'disconnected' };
  const { rule, problems } = await problemsWith(deps, source, input.body);
  if (rule === null) return { ok: false, why: 'invalid', problems };
  const stored = await deps.sources.transition(source.id, deps.clock.now(), ruleReplaced(rule, deps.clock.now()));
  // At once: the watch asks for the new label, and a run applies the change (its walk is pending work).
  await registerGmailWatch(deps.watchDeps, source.id);
  await deps.publisher.publish({ kind: 'sync', sourceId: source.id, trigger: 'manual', calendar: false, gmail: false });
  return { ok: true, value: view(stored) };
}
