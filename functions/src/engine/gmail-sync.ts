import { isGoogleError } from './errors';
import type { Source, Task } from './model';
import type { Clock, GmailApi, GmailHistoryRecord, GmailMessageMetadata, SourceStore, TaskStore } from './ports';

/**
 * Gmail delta sync: history.list from the cursor (all pages) → metadata for messages that
 * entered the inbox → task upserts; archived or deleted → `archived` (never a deletion); then
 * the cursor, only after the tasks are written. A 404 on history means the cursor is older
 * than Gmail's retained history: one bounded full resync, then a fresh cursor.
 */

const INBOX = 'INBOX';
const HISTORY_PAGE_SIZE = 500;

export interface GmailSyncDeps {
  sources: SourceStore;
  tasks: TaskStore;
  clock: Clock;
  leaseMs: number;
  fullSyncMaxMessages: number;
  /** How many metadata fetches to run between lease extensions. */
  fetchBatchSize: number;
}

export interface GmailSyncResult {
  resynced: boolean;
  counts: Record<string, number>;
  /** Stopped with work left (a time budget): the runner keeps Gmail pending. */
  more?: boolean;
}

/** Repeated history 404s right after a resync: reported, not retried forever. */
export class ResyncLoopError extends Error {
  constructor(readonly sourceId: string) {
    super(`Gmail history was invalid again right after a full resync of source ${sourceId}`);
    this.name = 'ResyncLoopError';
  }
}

interface MessageChanges {
  added: boolean;
  inboxAdded: boolean;
  inboxRemoved: boolean;
  deleted: boolean;
}

/** Folds history records, in order, into what happened to each message. */
export function summariseHistory(records: readonly GmailHistoryRecord[]): Map<string, MessageChanges> {
  const byMessage = new Map<string, MessageChanges>();
  const of = (id: string) => {
    let entry = byMessage.get(id);
    if (!entry) {
      entry = { added: false, inboxAdded: false, inboxRemoved: false, deleted: false };
      byMessage.set(id, entry);
    }
    return entry;
  };
  for (const record of records) {
    record.messagesAdded.forEach((id) => (of(id).added = true));
    record.labelsAdded.filter((c) => c.labelIds.includes(INBOX)).forEach((c) => (of(c.messageId).inboxAdded = true));
    record.labelsRemoved.filter((c) => c.labelIds.includes(INBOX)).forEach((c) => (of(c.messageId).inboxRemoved = true));
    record.messagesDeleted.forEach((id) => (of(id).deleted = true));
  }
  return byMessage;
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

export class GmailSync {
  constructor(private readonly deps: GmailSyncDeps) {}

  async run(api: GmailApi, source: Source, owner: string, pageSize: number | null): Promise<GmailSyncResult> {
    const counts: Record<string, number> = {};
    if (source.historyId === null) {
      // Never synced: start from now; the backlog is not imported.
      const profile = await api.getProfile();
      await this.deps.sources.advanceHistoryId(source.id, owner, profile.historyId, this.deps.clock.now());
      return { resynced: false, counts: { initialised: 1 } };
    }
    try {
      await this.delta(api, source, source.historyId, owner, pageSize, counts);
      return { resynced: false, counts };
    } catch (error) {
      if (!isGoogleError(error, 'cursor-invalid')) throw error;
    }
    const cursor = await this.resync(api, source, owner, counts);
    try {
      // Catches whatever changed while the resync listed the inbox.
      await this.delta(api, source, cursor, owner, pageSize, counts);
    } catch (error) {
      if (isGoogleError(error, 'cursor-invalid')) throw new ResyncLoopError(source.id);
      throw error;
    }
    return { resynced: true, counts };
  }

  private async delta(api: GmailApi, source: Source, start: string, owner: string, pageSize: number | null, counts: Record<string, number>) {
    const records: GmailHistoryRecord[] = [];
    let pageToken: string | null = null;
    let latest: string;
    do {
      const page = await api.listHistory(start, pageToken, pageSize ?? HISTORY_PAGE_SIZE);
      bump(counts, 'historyPages');
      records.push(...page.records);
      latest = page.historyId;
      pageToken = page.nextPageToken;
    } while (pageToken !== null);
    bump(counts, 'historyRecords', records.length);

    const changes = summariseHistory(records);
    const toFetch = [...changes].filter(([, c]) => !c.deleted && (c.added || c.inboxAdded)).map(([id]) => id);
    const fetched = await this.fetchAll(api, source, owner, toFetch, counts);

    const now = this.deps.clock.now();
    const upserts: Task[] = [];
    const archive: string[] = [];
    for (const [id, change] of changes) {
      if (change.deleted) {
        archive.push(id);
        continue;
      }
      if (!fetched.has(id)) {
        if (change.inboxRemoved) archive.push(id);
        continue;
      }
      const meta = fetched.get(id);
      if (meta === null || meta === undefined) {
        bump(counts, 'goneBeforeFetch');
        archive.push(id);
      } else if (meta.labelIds.includes(INBOX)) {
        upserts.push(gmailTask(source, meta, 'open', now));
      } else if (change.added && change.inboxRemoved) {
        // Arrived in the inbox and was archived before this run saw it.
        upserts.push(gmailTask(source, meta, 'archived', now));
      } else {
        archive.push(id);
      }
    }
    await this.writeTasks(source, upserts, archive, now, counts);
    await this.deps.sources.advanceHistoryId(source.id, owner, latest, this.deps.clock.now());
  }

  /** One bounded pass over the inbox; returns the cursor read before listing. */
  private async resync(api: GmailApi, source: Source, owner: string, counts: Record<string, number>): Promise<string> {
    bump(counts, 'resyncs');
    const { historyId } = await api.getProfile();
    const ids: string[] = [];
    let pageToken: string | null = null;
    do {
      const page = await api.listMessageIds(INBOX, pageToken, Math.min(500, this.deps.fullSyncMaxMessages - ids.length));
      ids.push(...page.ids);
      pageToken = page.nextPageToken;
    } while (pageToken !== null && ids.length < this.deps.fullSyncMaxMessages);
    const complete = pageToken === null;
    bump(counts, 'resyncListed', ids.length);

    const open = await this.deps.tasks.listOpen(source.userId, source.id, 'gmail');
    const known = new Set(open.map((t) => t.externalId));
    const fetched = await this.fetchAll(api, source, owner, ids.filter((id) => !known.has(id)), counts);
    const now = this.deps.clock.now();
    const upserts = [...fetched.values()]
      .filter((m): m is GmailMessageMetadata => m !== null && m.labelIds.includes(INBOX))
      .map((m) => gmailTask(source, m, 'open', now));
    // Only a complete listing proves that an open task's message left the inbox.
    const inInbox = new Set(ids);
    const archive = complete ? open.filter((t) => !inInbox.has(t.externalId)).map((t) => t.externalId) : [];
    await this.writeTasks(source, upserts, archive, now, counts);
    await this.deps.sources.advanceHistoryId(source.id, owner, historyId, this.deps.clock.now());
    return historyId;
  }

  /** Metadata for each id (null when deleted), in batches that keep the lease alive. */
  private async fetchAll(api: GmailApi, source: Source, owner: string, ids: string[], counts: Record<string, number>) {
    const result = new Map<string, GmailMessageMetadata | null>();
    for (let i = 0; i < ids.length; i += this.deps.fetchBatchSize) {
      if (i > 0) await this.deps.sources.extendLease(source.id, owner, this.deps.clock.now(), this.deps.leaseMs);
      const batch = ids.slice(i, i + this.deps.fetchBatchSize);
      const metas = await api.getMessagesMetadata(batch);
      batch.forEach((id) => result.set(id, metas.get(id) ?? null));
      bump(counts, 'messagesFetched', batch.length);
    }
    return result;
  }

  private async writeTasks(source: Source, upserts: Task[], archive: string[], now: Date, counts: Record<string, number>) {
    if (upserts.length > 0) {
      const { written, stale } = await this.deps.tasks.upsert(source.userId, upserts);
      bump(counts, 'tasksWritten', written);
      bump(counts, 'staleIgnored', stale);
    }
    if (archive.length > 0) {
      const archived = await this.deps.tasks.setStatusIfExists(
        source.userId,
        archive.map((externalId) => ({ sourceId: source.id, origin: 'gmail' as const, externalId })),
        'archived',
        now,
      );
      bump(counts, 'tasksArchived', archived);
    }
  }
}

function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}
