import { isGoogleError } from './errors';
import { GmailResyncWalk } from './gmail-resync';
import type { Source, Task } from './model';
import type { Clock, GmailApi, GmailHistoryRecord, GmailMessageMetadata, SourceStore, TaskStore } from './ports';
import { GMAIL_HISTORY_FILTER, INBOX, type TaskRule } from './task-rule';

/**
 * Gmail delta sync, page by page: each history.list page's new messages are fetched, its
 * tasks written (archived or deleted → `archived`, never a deletion) and the cursor advanced
 * past it before the next page is read (the last page's cursor goes to the runner, which
 * stores it with the step's end), so tasks appear as they are fetched and a pass can stop
 * anywhere. A pass stops at its time budget and reports `more`: the runner keeps the
 * work pending, so any backlog completes. A 404 on history means the cursor is older than
 * Gmail's retained history: a resumable resync (gmail-resync.ts), then a fresh cursor.
 */

const HISTORY_PAGE_SIZE = 100;

export interface GmailSyncDeps {
  sources: SourceStore;
  tasks: TaskStore;
  clock: Clock;
  leaseMs: number;
  /** A pass starts no new page after this long; the rest is handed on. */
  passBudgetMs: number;
  /** The clock the budget is read from (the runner's clock unless a test brings its own). */
  budgetClock?: Clock;
  /** How many messages to fetch between lease extensions. */
  fetchBatchSize: number;
  taskRule: TaskRule;
}

export interface GmailSyncResult {
  resynced: boolean;
  /** The pass stopped at its budget with work left: keep it pending. */
  more: boolean;
  /**
   * The history id the last page reached, its tasks already written: the runner stores it in
   * the write that ends the step, so a one-page pass costs no write of its own.
   */
  cursor: string | null;
  counts: Record<string, number>;
}

/** One page of `history.list`, as the adapter returns it. */
export type HistoryPage = Awaited<ReturnType<GmailApi['listHistory']>>;

/**
 * A delta pass's first page, asked for before the pass could start (while its run was still
 * taking the lease, or by the tail look that started the run), and the cursor it was asked
 * from: the pass uses it only if it starts from that same cursor.
 */
export interface EarlyPage {
  from: string;
  page: Promise<HistoryPage>;
}

interface DeltaResult {
  more: boolean;
  cursor: string | null;
}

/** When a pass stops starting new pages: its budget, on the budget's clock. */
export class PassDeadline {
  private readonly at: number;

  constructor(
    private readonly clock: Clock,
    budgetMs: number,
  ) {
    this.at = clock.now().getTime() + budgetMs;
  }

  reached(): boolean {
    return this.clock.now().getTime() >= this.at;
  }
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

/** One page's changes as task writes: upserts for messages in the inbox, archives for the rest. */
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
    const meta = fetched.get(id);
    if (change.deleted) archive.push(id);
    else if (meta === undefined) {
      if (change.inboxRemoved) archive.push(id);
    } else if (meta === null) {
      goneBeforeFetch += 1;
      archive.push(id);
    } else if (meta.labelIds.includes(INBOX)) upserts.push(gmailTask(source, meta, 'open', now));
    // History is filtered to INBOX, so an added message entered the inbox: it left it since.
    else if (change.added) upserts.push(gmailTask(source, meta, 'archived', now));
    else archive.push(id);
  }
  return { upserts, archive, goneBeforeFetch };
}

export class GmailSync {
  private readonly resyncWalk: GmailResyncWalk;

  constructor(private readonly deps: GmailSyncDeps) {
    this.resyncWalk = new GmailResyncWalk(deps, this);
  }

  /**
   * Asks for the first page a delta pass from the source's cursor would read, without the
   * lease: history is append-only, so the page is as true once the lease is taken. `null` when
   * the pass would not start with a delta from the cursor (never synced, or a resync walk).
   */
  earlyPage(api: GmailApi, source: Source, pageSize: number | null): EarlyPage | null {
    const from = this.deltaStart(source);
    return from === null ? null : this.firstPage(api, from, pageSize);
  }

  /** Where a pass over the source starts a delta: its cursor, or `null` (never synced, a resync walk). */
  deltaStart(source: Source): string | null {
    return source.gmailResync === null ? source.historyId : null;
  }

  /** The first page a delta pass from `from` reads (same size and filter), asked for now. */
  firstPage(api: GmailApi, from: string, pageSize: number | null): EarlyPage {
    const page = api.listHistory(from, null, pageSize ?? HISTORY_PAGE_SIZE, GMAIL_HISTORY_FILTER);
    // Awaited by the pass, or dropped unread: a failure must not go unhandled meanwhile.
    page.catch(() => undefined);
    return { from, page };
  }

  async run(api: GmailApi, source: Source, owner: string, pageSize: number | null, early: EarlyPage | null = null): Promise<GmailSyncResult> {
    const counts: Record<string, number> = {};
    const deadline = new PassDeadline(this.deps.budgetClock ?? this.deps.clock, this.deps.passBudgetMs);
    if (source.historyId === null) {
      // Never synced: start from now; the backlog is not imported.
      const profile = await api.getProfile();
      return { resynced: false, more: false, cursor: profile.historyId, counts: { initialised: 1 } };
    }
    if (source.gmailResync === null) {
      try {
        const first = early !== null && early.from === source.historyId ? early.page : null;
        const delta = await this.delta(api, source, source.historyId, owner, pageSize, deadline, counts, first);
        return { resynced: false, ...delta, counts };
      } catch (error) {
        if (!isGoogleError(error, 'cursor-invalid')) throw error;
      }
    }
    // A walk begun in an earlier pass has an older cursor, which history may have outlived.
    const resumed = source.gmailResync !== null;
    const cursor = await this.resyncWalk.run(api, source, owner, deadline, counts);
    if (cursor === null) return { resynced: true, more: true, cursor: null, counts };
    try {
      // Catches whatever changed while the resync walked the inbox.
      const delta = await this.delta(api, source, cursor, owner, pageSize, deadline, counts);
      return { resynced: true, ...delta, counts };
    } catch (error) {
      if (!isGoogleError(error, 'cursor-invalid')) throw error;
      if (!resumed) throw new ResyncLoopError(source.id);
      // History expired again during a long walk: the next pass walks again (briefly: it
      // stops at what this walk imported) from a fresh cursor.
      bump(counts, 'resyncOutlived');
      return { resynced: true, more: true, cursor: null, counts };
    }
  }

  /**
   * History pages from `start`, each page's tasks written before the next is read; the cursor
   * is stored past each page but the last, whose history id is returned to the runner.
   */
  private async delta(
    api: GmailApi,
    source: Source,
    start: string,
    owner: string,
    pageSize: number | null,
    deadline: PassDeadline,
    counts: Record<string, number>,
    firstPage: Promise<HistoryPage> | null = null,
  ): Promise<DeltaResult> {
    let cursor = start;
    let pageToken: string | null = null;
    for (let page = 0; ; page += 1) {
      if (page > 0 && deadline.reached()) {
        bump(counts, 'budgetReached');
        return { more: true, cursor: null };
      }
      const result: HistoryPage = page === 0 && firstPage !== null ? await firstPage : await api.listHistory(start, pageToken, pageSize ?? HISTORY_PAGE_SIZE, GMAIL_HISTORY_FILTER);
      bump(counts, 'historyPages');
      bump(counts, 'historyRecords', result.records.length);
      const changes = summariseHistory(result.records);
      const toFetch = [...changes].filter(([, c]) => !c.deleted && (c.added || c.inboxAdded)).map(([id]) => id);
      const fetched = await this.fetchAll(api, source, owner, toFetch, counts);
      const now = this.deps.clock.now();
      const plan = planPage(source, changes, fetched, now);
      bump(counts, 'goneBeforeFetch', plan.goneBeforeFetch);
      // A message history reports added has no task yet (unless this page is done again).
      const isNew = (task: Task) => changes.get(task.externalId)?.added === true;
      await this.writeTasks(source, plan.upserts, plan.archive, now, counts, isNew);
      pageToken = result.nextPageToken;
      // At the end, the mailbox's history id is as far as this pass has seen.
      if (pageToken === null) return { more: false, cursor: result.historyId };
      // Mid-listing, the page's last record is.
      cursor = result.records[result.records.length - 1]?.id ?? cursor;
      await this.deps.sources.advanceHistoryId(source.id, owner, cursor, this.deps.clock.now(), this.deps.leaseMs);
    }
  }

  /** Metadata for each id (null when deleted), in batches that keep the lease alive. */
  async fetchAll(api: GmailApi, source: Source, owner: string, ids: readonly string[], counts: Record<string, number>) {
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

  async writeTasks(source: Source, upserts: Task[], archive: string[], now: Date, counts: Record<string, number>, isNew: (task: Task) => boolean = () => false) {
    const fresh = upserts.filter(isNew);
    const others = upserts.filter((task) => !isNew(task));
    if (fresh.length > 0) countWrites(counts, await this.deps.tasks.insertNew(source.userId, fresh));
    if (others.length > 0) countWrites(counts, await this.deps.tasks.upsert(source.userId, others));
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

function countWrites(counts: Record<string, number>, result: { written: number; stale: number }): void {
  bump(counts, 'tasksWritten', result.written);
  bump(counts, 'staleIgnored', result.stale);
}

export function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}
