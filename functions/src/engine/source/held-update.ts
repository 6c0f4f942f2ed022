import { LeaseLostError } from '../errors';
import type { Source, SourceData } from '../model';
import type { SourceStore } from './ports';

/**
 * Applies a change to the source only while `owner` holds its lease (and extends it), so
 * sync progress is never written by a run that another instance has taken over.
 */
export async function updateWhileHolding(
  sources: SourceStore,
  sourceId: string,
  owner: string,
  now: Date,
  leaseMs: number,
  change: (current: Source) => Partial<SourceData>,
): Promise<Source> {
  return sources.update(sourceId, now, (current) => {
    const held = current.lease !== null && current.lease.owner === owner && current.lease.until > now;
    if (!held) throw new LeaseLostError(sourceId, owner);
    return { ...change(current), lease: { owner, until: new Date(now.getTime() + leaseMs) } };
  });
}
