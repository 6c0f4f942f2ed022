import type { Source, Task } from '../model';
import type { Clock, TaskStore } from '../ports';
import type { SourceStore } from '../source/ports';
import type { GmailApi, GmailMessageMetadata } from './ports';

/**
 * What every Gmail pass (delta or resync walk) does with a page of messages: fetch their
 * metadata in batches that keep the lease alive, write their tasks, and count; and when the
 * pass stops starting new pages.
 */

/** A pass's telemetry: how many of each thing it did (logged and recorded, never decided on). */
export type PassCounts = Record<string, number>;

export function bump(counts: PassCounts, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
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

export interface PageDeps {
  sources: SourceStore;
  tasks: TaskStore;
  clock: Clock;
  leaseMs: number;
  /** How many messages to fetch between lease extensions. */
  fetchBatchSize: number;
}

/** Metadata for each id (null when deleted), in batches that keep the lease alive. */
export async function fetchAll(deps: PageDeps, api: GmailApi, source: Source, owner: string, ids: readonly string[], counts: PassCounts) {
  const result = new Map<string, GmailMessageMetadata | null>();
  for (let i = 0; i < ids.length; i += deps.fetchBatchSize) {
    if (i > 0) await deps.sources.extendLease(source.id, owner, deps.clock.now(), deps.leaseMs);
    const batch = ids.slice(i, i + deps.fetchBatchSize);
    const metas = await api.getMessagesMetadata(batch);
    batch.forEach((id) => result.set(id, metas.get(id) ?? null));
    bump(counts, 'messagesFetched', batch.length);
  }
  return result;
}

/** Writes a page's tasks: new ones without a read, the others as upserts, then the archives. */
export async function writeTasks(
  deps: Pick<PageDeps, 'tasks'>,
  source: Source,
  page: { upserts: Task[]; archive: string[]; isNew?: (task: Task) => boolean },
  now: Date,
  counts: PassCounts,
): Promise<void> {
  const isNew = page.isNew ?? (() => false);
  const fresh = page.upserts.filter(isNew);
  const others = page.upserts.filter((task) => !isNew(task));
  if (fresh.length > 0) countWrites(counts, await deps.tasks.insertNew(source.userId, fresh));
  if (others.length > 0) countWrites(counts, await deps.tasks.upsert(source.userId, others));
  if (page.archive.length > 0) {
    const updates = page.archive.map((externalId) => ({ sourceId: source.id, origin: 'gmail' as const, externalId }));
    bump(counts, 'tasksArchived', await deps.tasks.setStatusIfExists(source.userId, updates, 'archived', now));
  }
}

function countWrites(counts: PassCounts, result: { written: number; stale: number }): void {
  bump(counts, 'tasksWritten', result.written);
  bump(counts, 'staleIgnored', result.stale);
}
