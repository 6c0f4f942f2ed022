/**
 * The bench's read-after-push lag accounting: what the engine's passes did about changes Google
 * announced before serving them, summed from the functions' log (each pass logs its counts
 * when it finishes), and the check that a lag-on run really lagged and a lag-off run did not.
 */

/** Pass counts that only read-after-push lag produces (engine/gmail/sync.ts names them). */
export const LAG_COUNTS = ['lagging', 'unreadableHeld', 'unreadableTreatedAsDeleted', 'resyncWaiting'] as const;
export type LagCount = (typeof LAG_COUNTS)[number];

export interface PassLag {
  /** Gmail passes that finished (the denominator of the counts below). */
  gmailPasses: number;
  counts: Record<LagCount, number>;
}

const SYNC_FINISHED = / sync finished$/;

/** Sums the lag counts of every finished pass in a functions log (one JSON object per line; other lines are skipped). */
export function passLag(log: string): PassLag {
  const result: PassLag = { gmailPasses: 0, counts: { lagging: 0, unreadableHeld: 0, unreadableTreatedAsDeleted: 0, resyncWaiting: 0 } };
  for (const line of log.split('\n')) {
    const entry = parseLine(line);
    if (entry === null || typeof entry.message !== 'string' || !SYNC_FINISHED.test(entry.message)) continue;
    if (entry.type === 'gmail') result.gmailPasses += 1;
    const counts = (entry.counts ?? {}) as Record<string, unknown>;
    for (const key of LAG_COUNTS) {
      const n = counts[key];
      if (typeof n === 'number') result.counts[key] += n;
    }
  }
  return result;
}

function parseLine(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Why a run's lag figures cannot be read as asked, or `null` when they can: a lag-on run whose
 * sandbox delayed no change never lagged (the rule did not reach the accounts), and a lag-off
 * run whose sandbox delayed changes was not lag-free.
 */
export function lagMismatch(lagMaxMs: number | null, delayed: { gmail: number; calendar: number }): string | null {
  const total = delayed.gmail + delayed.calendar;
  if (lagMaxMs === null) return total === 0 ? null : `lag off, yet the sandbox delayed ${total} changes`;
  return delayed.gmail > 0 ? null : `lag up to ${lagMaxMs} ms, yet the sandbox delayed no Gmail change`;
}

/**
 * Why a lag-on run says nothing about the engine under lag, or `null`: no pass met the lag (no
 * listing short of its announced id, no 404 held or given up). Its passes all ran after their
 * changes had become readable, as when an overloaded machine delivers pushes late.
 */
export function lagUnmet(lagMaxMs: number | null, passes: PassLag): string | null {
  if (lagMaxMs === null) return null;
  const met = passes.counts.lagging + passes.counts.unreadableHeld + passes.counts.unreadableTreatedAsDeleted;
  return met > 0 ? null : `no pass met the lag (${passes.gmailPasses} Gmail passes, each after its change was readable): its figures measure the machine's load, not the engine under lag`;
}
