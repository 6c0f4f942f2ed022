import { DEFAULT_GMAIL_RULE, type GmailCategory, type GmailRule } from '../gmail-rule-schema';
import type { Source, Task } from '../model';
import type { GmailApi, GmailHistoryFilter, GmailHistoryRecord, GmailMessageMetadata } from './ports';

/**
 * Which mail becomes a task: the source's intake rule (its owner's choice, the inbox by
 * default). A message that matches is an open task; one that stops matching (the label
 * removed, spam, trash, deleted) archives its task, and matching again reopens it. This
 * module is the only place that reads a rule or names a Gmail label: the push path, the
 * poll, the reconnect catch-up, the resync, the rule's backfill, the watch and the audit
 * all ask it.
 */

const SELECTOR_LABELS = { inbox: 'INBOX', starred: 'STARRED', important: 'IMPORTANT' } as const;
const CATEGORY_LABELS: Record<GmailCategory, string> = {
  promotions: 'CATEGORY_PROMOTIONS',
  social: 'CATEGORY_SOCIAL',
  updates: 'CATEGORY_UPDATES',
  forums: 'CATEGORY_FORUMS',
};
/** Mail there is no task, whatever its other labels. */
const NEVER_TASKS = ['SPAM', 'TRASH'];
/** The headers the rule reads (besides From); the adapter asks for them with the metadata. */
export const RULE_HEADERS = ['List-Unsubscribe', 'Precedence'] as const;

/** The source's rule: the stored one, else the default (sources stored before rules have none). */
export function ruleOf(source: Pick<Source, 'gmailRule'>): GmailRule {
  return source.gmailRule?.rule ?? DEFAULT_GMAIL_RULE;
}

/** The rule's version: 0 for the default a source has never changed. */
export function ruleVersionOf(source: Pick<Source, 'gmailRule'>): number {
  return source.gmailRule?.version ?? 0;
}

/** The one label that decides whether a message is a task mail (exclusions aside). */
export function decidingLabel(rule: GmailRule): string {
  return rule.selector.kind === 'label' ? rule.selector.labelId : SELECTOR_LABELS[rule.selector.kind];
}

/** The user label a rule names, if any (system labels always exist). */
export function userLabelOf(rule: GmailRule): string | null {
  return rule.selector.kind === 'label' ? rule.selector.labelId : null;
}

/**
 * history.list asks only for what can change a task: records of messages that carry the
 * deciding label before or after the change.
 */
export function historyFilter(decidingLabelId: string): GmailHistoryFilter {
  return { labelId: decidingLabelId, historyTypes: ['messageAdded', 'messageDeleted', 'labelAdded', 'labelRemoved'] };
}

/** The labels the Gmail watch announces changes of: only the deciding one. */
export function watchLabels(rule: GmailRule): string[] {
  return [decidingLabel(rule)];
}

/** The sender's address in a From header (`Name <a@b.c>` or `a@b.c`), lower case. */
export function senderAddress(from: string | null): string | null {
  if (from === null) return null;
  const angled = /<([^<>]+)>\s*$/.exec(from);
  const address = (angled?.[1] ?? from).trim().toLowerCase();
  return address.includes('@') ? address : null;
}

function fromExcludedSender(rule: GmailRule, from: string | null): boolean {
  const address = senderAddress(from);
  if (address === null) return false;
  const domain = address.slice(address.lastIndexOf('@') + 1);
  const { senders, domains } = rule.exclude;
  return senders.includes(address) || domains.some((d) => domain === d || domain.endsWith(`.${d}`));
}

function isBulk(meta: Pick<GmailMessageMetadata, 'listUnsubscribe' | 'precedence'>): boolean {
  const precedence = meta.precedence?.trim().toLowerCase();
  return meta.listUnsubscribe !== null || precedence === 'bulk' || precedence === 'list';
}

type RuleMetadata = Pick<GmailMessageMetadata, 'labelIds' | 'from' | 'listUnsubscribe' | 'precedence'>;

/** Whether one of the rule's exclusions leaves the message out, from metadata already fetched. */
export function excluded(rule: GmailRule, meta: RuleMetadata): boolean {
  const { exclude } = rule;
  if (exclude.categories.some((c) => meta.labelIds.includes(CATEGORY_LABELS[c]))) return true;
  if (exclude.sent && meta.labelIds.includes('SENT')) return true;
  if (exclude.bulk && isBulk(meta)) return true;
  return fromExcludedSender(rule, meta.from);
}

/** Whether a message, as its metadata shows it now, is a task under the rule. */
export function matches(rule: GmailRule, meta: RuleMetadata | null | undefined): boolean {
  if (!meta) return false;
  if (!meta.labelIds.includes(decidingLabel(rule))) return false;
  if (NEVER_TASKS.some((label) => meta.labelIds.includes(label))) return false;
  return !excluded(rule, meta);
}

/** Labels whose change may change whether a message matches, besides the deciding one. */
function rereadLabels(rule: GmailRule): string[] {
  return [...NEVER_TASKS, ...rule.exclude.categories.map((c) => CATEGORY_LABELS[c])];
}

/** One page of the ids of the mail carrying the deciding label, newest first. */
export function listTaskMail(api: GmailApi, rule: GmailRule, pageToken: string | null, maxResults: number): Promise<{ ids: string[]; nextPageToken: string | null }> {
  return api.listMessageIds(decidingLabel(rule), pageToken, maxResults);
}

/** What a page of history did to one message. */
export interface MessageChanges {
  added: boolean;
  /** The message became a task mail (the label was added). */
  ruleAdded: boolean;
  /** The message stopped being a task mail (the label was removed). */
  ruleRemoved: boolean;
  /** Another label the rule reads changed (spam, trash, an excluded category): read it again. */
  reread: boolean;
  deleted: boolean;
}

/** Folds history records, in order, into what happened to each message under the rule. */
export function summariseHistory(rule: GmailRule, records: readonly GmailHistoryRecord[]): Map<string, MessageChanges> {
  const deciding = decidingLabel(rule);
  const reread = rereadLabels(rule);
  const rereads = (c: { labelIds: string[] }) => c.labelIds.some((l) => reread.includes(l));
  const byMessage = new Map<string, MessageChanges>();
  const of = (id: string) => {
    let entry = byMessage.get(id);
    if (!entry) {
      entry = { added: false, ruleAdded: false, ruleRemoved: false, reread: false, deleted: false };
      byMessage.set(id, entry);
    }
    return entry;
  };
  for (const record of records) {
    record.messagesAdded.forEach((id) => (of(id).added = true));
    record.labelsAdded.filter((c) => c.labelIds.includes(deciding)).forEach((c) => (of(c.messageId).ruleAdded = true));
    record.labelsRemoved.filter((c) => c.labelIds.includes(deciding)).forEach((c) => (of(c.messageId).ruleRemoved = true));
    [...record.labelsAdded, ...record.labelsRemoved].filter(rereads).forEach((c) => (of(c.messageId).reread = true));
    record.messagesDeleted.forEach((id) => (of(id).deleted = true));
  }
  return byMessage;
}

/** The messages of a page whose metadata decides their task (the others are settled by the history alone). */
export function toFetch(changes: Map<string, MessageChanges>): string[] {
  return [...changes].filter(([, c]) => !c.deleted && (c.added || c.ruleAdded || c.reread)).map(([id]) => id);
}

export function gmailLink(email: string, messageId: string): string {
  return `https://mail.google.com/mail/?authuser=${encodeURIComponent(email)}#all/${messageId}`;
}

export function gmailTask(source: Source, meta: GmailMessageMetadata, status: Task['status'], now: Date): Task {
  return {
    sourceId: source.id,
    origin: 'gmail',
    externalId: meta.id,
    title: meta.subject?.trim() || '(no subject)',
    dueAt: null,
    link: gmailLink(source.email, meta.id),
    status,
    // Gmail has no per-change timestamp; the lease makes runs for a source sequential, so
    // observation time orders them.
    externalUpdatedAt: now,
    updatedAt: now,
  };
}

/** What one message's change means for its task. */
function planMessage(rule: GmailRule, source: Source, change: MessageChanges, meta: GmailMessageMetadata | null | undefined, now: Date): Task | 'archive' | 'gone' | null {
  if (change.deleted) return 'archive';
  if (meta === undefined) return change.ruleRemoved ? 'archive' : null;
  if (meta === null) return 'gone';
  if (matches(rule, meta)) return gmailTask(source, meta, 'open', now);
  // History is filtered to the deciding label, so an added message had it: it left since.
  // A message an exclusion leaves out gets no task at all.
  if (change.added && !excluded(rule, meta)) return gmailTask(source, meta, 'archived', now);
  return 'archive';
}

/** One page's changes as task writes: upserts for task mail, archives for the rest. */
export function planPage(
  source: Source,
  changes: Map<string, MessageChanges>,
  fetched: Map<string, GmailMessageMetadata | null>,
  now: Date,
): { upserts: Task[]; archive: string[]; goneBeforeFetch: number } {
  const upserts: Task[] = [];
  const archive: string[] = [];
  let goneBeforeFetch = 0;
  const rule = ruleOf(source);
  for (const [id, change] of changes) {
    const planned = planMessage(rule, source, change, fetched.get(id), now);
    if (planned === 'gone') goneBeforeFetch += 1;
    if (planned === 'archive' || planned === 'gone') archive.push(id);
    else if (planned !== null) upserts.push(planned);
  }
  return { upserts, archive, goneBeforeFetch };
}
