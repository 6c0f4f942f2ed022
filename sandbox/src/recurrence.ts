/**
 * The part of RFC 5545 recurrence the sandbox expands: `RRULE:FREQ=DAILY|WEEKLY` with
 * `INTERVAL`, `COUNT` and `UNTIL`. Enough for the cases the engine must handle (a series with
 * no end, a bounded one, a changed or cancelled instance); other rules are refused (400).
 */

export interface Rule {
  stepMs: number;
  count: number | null;
  untilMs: number | null;
}

const DAY_MS = 86_400_000;
/** An endless series is expanded this many instances at most (Google also stops somewhere). */
export const MAX_INSTANCES = 400;

/** Parses a `recurrence` list; `null` when a line is not one the sandbox supports. */
export function parseRecurrence(lines: readonly string[]): Rule | null {
  const rrules = lines.filter((l) => l.startsWith('RRULE:'));
  if (rrules.length !== 1 || rrules.length !== lines.length) return null;
  const parts = new Map(rrules[0]!.slice('RRULE:'.length).split(';').map((p) => p.split('=') as [string, string]));
  const freq = parts.get('FREQ');
  const interval = Number(parts.get('INTERVAL') ?? '1');
  if ((freq !== 'DAILY' && freq !== 'WEEKLY') || !Number.isInteger(interval) || interval < 1) return null;
  const count = parts.has('COUNT') ? Number(parts.get('COUNT')) : null;
  if (count !== null && (!Number.isInteger(count) || count < 1)) return null;
  const until = parts.get('UNTIL');
  const untilMs = until === undefined ? null : parseBasicUtc(until);
  if (until !== undefined && untilMs === null) return null;
  for (const key of parts.keys()) if (!['FREQ', 'INTERVAL', 'COUNT', 'UNTIL'].includes(key)) return null;
  return { stepMs: (freq === 'DAILY' ? 1 : 7) * interval * DAY_MS, count, untilMs };
}

/** `20261201T100000Z` or `20261201` → epoch ms. */
function parseBasicUtc(value: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z)?$/.exec(value);
  if (!m) return null;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
}

/** The start times (epoch ms) of a series' instances, in order. */
export function instanceStarts(firstStartMs: number, rule: Rule): number[] {
  const starts: number[] = [];
  for (let i = 0; starts.length < MAX_INSTANCES; i += 1) {
    const start = firstStartMs + i * rule.stepMs;
    if (rule.count !== null && i >= rule.count) break;
    if (rule.untilMs !== null && start > rule.untilMs) break;
    starts.push(start);
  }
  return starts;
}

/** An instance's id, as Google forms it: the series id, `_`, the original start in basic UTC. */
export function instanceId(seriesId: string, originalStartMs: number, allDay: boolean): string {
  const iso = new Date(originalStartMs).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return `${seriesId}_${allDay ? iso.slice(0, 8) : iso}`;
}
