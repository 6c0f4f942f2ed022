import type { Source, Task } from '../model';
import type { GmailApi, GmailHistoryFilter, GmailHistoryRecord, GmailMessageMetadata } from './ports';

/**
 * Which mail becomes a task: a message in the inbox is an open task; one that leaves it
 * (archived or deleted) archives its task. This module is the only place that knows the rule
 * is "the inbox": sync, resync, the watch, the poll and the audit all ask it, so a different
 * rule (starred mail, say) is a change here.
 */

const INBOX = 'INBOX';

/**
 * history.list asks only for what can change a task: records of messages that carry the
 * label before or after the change (sent mail and drafts never do).
 */
export const GMAIL_HISTORY_FILTER: GmailHistoryFilter = {
  labelId: INBOX,
  historyTypes: ['messageAdded', 'messageDeleted', 'labelAdded', 'labelRemoved'],
};

/** The labels the Gmail watch announces changes of. */
export const GMAIL_WATCH_LABELS: readonly string[] = [INBOX];

/** Whether a message, as its metadata shows it now, is a task. */
export function isTaskMail(meta: Pick<GmailMessageMetadata, 'labelIds'> | null | undefined): boolean {
  return meta?.labelIds.includes(INBOX) ?? false;
}

/** One page of the ids of every message that is a task, newest first. */
export function listTaskMail(api: GmailApi, pageToken: string | null, maxResults: number): Promise<{ ids: string[]; nextPageToken: string | null }> {
  return api.listMessageIds(INBOX, pageToken, maxResults);
}

/** What a page of history did to one message. */
export interface MessageChanges {
  added: boolean;
  /** The message became a task mail (the label was added). */
  ruleAdded: boolean;
  /** The message stopped being a task mail (the label was removed). */
  ruleRemoved: boolean;
  deleted: boolean;
}

/** Folds history records, in order, into what happened to each message. */
export function summariseHistory(records: readonly GmailHistoryRecord[]): Map<string, MessageChanges> {
  const byMessage = new Map<string, MessageChanges>();
  const of = (id: string) => {
    let entry = byMessage.get(id);
    if (!entry) {
      entry = { added: false, ruleAdded: false, ruleRemoved: false, deleted: false };
      byMessage.set(id, entry);
    }
    return entry;
  };
  for (const record of records) {
    record.messagesAdded.forEach((id) => (of(id).added = true));
    record.labelsAdded.filter((c) => c.labelIds.includes(INBOX)).forEach((c) => (of(c.messageId).ruleAdded = true));
    record.labelsRemoved.filter((c) => c.labelIds.includes(INBOX)).forEach((c) => (of(c.messageId).ruleRemoved = true));
    record.messagesDeleted.forEach((id) => (of(id).deleted = true));
  }
  return byMessage;
}

/** The messages of a page whose metadata decides their task (the others are settled by the history alone). */
export function toFetch(changes: Map<string, MessageChanges>): string[] {
  return [...changes].filter(([, c]) => !c.deleted && (c.added || c.ruleAdded)).map(([id]) => id);
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
function planMessage(source: Source, change: MessageChanges, meta: GmailMessageMetadata | null | undefined, now: Date): Task | 'archive' | 'gone' | null {
  if (change.deleted) return 'archive';
  if (meta === undefined) return change.ruleRemoved ? 'archive' : null;
  if (meta === null) return 'gone';
  if (isTaskMail(meta)) return gmailTask(source, meta, 'open', now);
  // History is filtered to the rule's label, so an added message had it: it left since.
  if (change.added) return gmailTask(source, meta, 'archived', now);
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
  for (const [id, change] of changes) {
    const planned = planMessage(source, change, fetched.get(id), now);
    if (planned === 'gone') goneBeforeFetch += 1;
    if (planned === 'archive' || planned === 'gone') archive.push(id);
    else if (planned !== null) upserts.push(planned);
  }
  return { upserts, archive, goneBeforeFetch };
}
