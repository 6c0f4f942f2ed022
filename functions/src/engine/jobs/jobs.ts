import type { Clock, Logger } from '../ports';
import type { SourceQueries } from '../source/ports';
import type { SyncRequest, SyncRequestPublisher } from './ports';
import { LOG_EVENTS } from '../../observability/log-events';

/**
 * The scheduled jobs. They only find the sources that need work, through indexed queries,
 * and fan the work out on `sync-requests`; the syncs and renewals run in syncWorker, one
 * source per invocation, so a job's cost grows with the sources that need work.
 */

export interface JobDeps {
  sources: SourceQueries;
  publisher: SyncRequestPublisher;
  clock: Clock;
  logger: Logger;
}

export interface FanOutResult {
  requested: number;
}

async function fanOut(deps: JobDeps, candidates: AsyncIterable<{ id: string }>[], request: (sourceId: string) => SyncRequest): Promise<FanOutResult> {
  const seen = new Set<string>();
  for (const stream of candidates) {
    for await (const source of stream) {
      if (seen.has(source.id)) continue;
      seen.add(source.id);
      await deps.publisher.publish(request(source.id));
    }
  }
  return { requested: seen.size };
}

/** Hourly: watches and channels with less than `renewBeforeMs` left, missing or expired. */
export async function renewWatches(deps: JobDeps, renewBeforeMs: number): Promise<FanOutResult> {
  const cutoff = new Date(deps.clock.now().getTime() + renewBeforeMs);
  const result = await fanOut(deps, [deps.sources.watchesExpiringBefore(cutoff)], (sourceId) => ({ kind: 'renew', sourceId }));
  deps.logger.info(LOG_EVENTS.renewalFannedOut, { trigger: 'renewal', requested: result.requested });
  return result;
}

/**
 * Every 2 minutes: sources with no live watch, or neither a push nor a check for longer than
 * `fallbackAfterMs`, or pending work under an expired lease, get a small poll.
 */
export async function fallbackPoll(deps: JobDeps, settings: { fallbackAfterMs: number; pollPageSize: number }): Promise<FanOutResult> {
  const now = deps.clock.now();
  const quietSince = new Date(now.getTime() - settings.fallbackAfterMs);
  const quiet = async function* () {
    for await (const source of deps.sources.notCheckedSince(quietSince)) {
      // A source that received a push recently is live even if that push needed no sync.
      if (source.lastPushAt === null || source.lastPushAt <= quietSince) yield source;
    }
  };
  const result = await fanOut(deps, [deps.sources.watchesExpiringBefore(now), quiet(), deps.sources.leaseExpiredBefore(now)], (sourceId) => ({
    kind: 'sync',
    sourceId,
    trigger: 'poll',
    gmail: true,
    calendar: true,
    pageSize: settings.pollPageSize,
  }));
  deps.logger.info(LOG_EVENTS.pollFannedOut, { trigger: 'poll', requested: result.requested });
  return result;
}

export interface PruneResult {
  deleted: number;
  batches: number;
  complete: boolean;
}

/** Daily backstop to the TTL policy: deletes expired ingestion events in bounded batches. */
export async function pruneRetention(
  deps: { events: { deleteExpiredBatch(now: Date, batchSize: number): Promise<number> }; clock: Clock; logger: Logger },
  settings: { batchSize: number; maxBatches: number },
): Promise<PruneResult> {
  const now = deps.clock.now();
  let deleted = 0;
  let batches = 0;
  let complete = false;
  while (batches < settings.maxBatches) {
    const count = await deps.events.deleteExpiredBatch(now, settings.batchSize);
    batches += 1;
    deleted += count;
    if (count < settings.batchSize) {
      complete = true;
      break;
    }
  }
  deps.logger.info(LOG_EVENTS.pruneFinished, { deleted, batches, complete });
  return { deleted, batches, complete };
}
