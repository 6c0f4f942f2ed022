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

/** Candidates found by some queries, and the request each of them gets. */
interface Candidates {
  streams: AsyncIterable<{ id: string }>[];
  request: (sourceId: string) => SyncRequest;
}

/** One request per source, the first group that finds it deciding which. */
async function fanOut(deps: JobDeps, groups: Candidates[]): Promise<FanOutResult> {
  const seen = new Set<string>();
  for (const { streams, request } of groups) {
    for (const stream of streams) {
      for await (const source of stream) {
        if (seen.has(source.id)) continue;
        seen.add(source.id);
        await deps.publisher.publish(request(source.id));
      }
    }
  }
  return { requested: seen.size };
}

/** Hourly: watches and channels with less than `renewBeforeMs` left, missing or expired. */
export async function renewWatches(deps: JobDeps, renewBeforeMs: number): Promise<FanOutResult> {
  const cutoff = new Date(deps.clock.now().getTime() + renewBeforeMs);
  const result = await fanOut(deps, [{ streams: [deps.sources.watchesExpiringBefore(cutoff)], request: (sourceId) => ({ kind: 'renew', sourceId }) }]);
  deps.logger.info(LOG_EVENTS.renewalFannedOut, { trigger: 'renewal', requested: result.requested });
  return result;
}

/**
 * Every 2 minutes: sources with no live watch, or neither a push nor a check for longer than
 * `fallbackAfterMs`, or pending work under an expired lease, get a small poll. A source that
 * is busy otherwise but has a calendar no pass listed for that long gets a poll of its
 * calendars: a push that went missing on a calendar with no later change is found there, where
 * the source's other pushes and passes say nothing about that calendar.
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
  const poll = (gmail: boolean) => (sourceId: string): SyncRequest => ({ kind: 'sync', sourceId, trigger: 'poll', gmail, calendar: true, pageSize: settings.pollPageSize });
  const result = await fanOut(deps, [
    { streams: [deps.sources.watchesExpiringBefore(now), quiet(), deps.sources.leaseExpiredBefore(now)], request: poll(true) },
    { streams: [deps.sources.calendarsNotCheckedSince(quietSince)], request: poll(false) },
  ]);
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
