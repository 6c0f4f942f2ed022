import { DEFAULT_QUOTA } from '../../sandbox/src/usage';
import { percentile } from '../lib/demo';

/**
 * The benchmark's accounting, kept apart from its orchestration: which changes were
 * announced, what each cost at Google, and freshness percentiles in which a change never
 * seen counts with the time it was still missing at the end of the drain.
 */

export type ChangeKind = 'announced' | 'tail' | 'calendar';

export interface Expectation {
  kind: ChangeKind;
  changedAt: number;
  /** Burst tails: when Gmail could next have notified the mailbox (its one-second interval). */
  notifiableAt: number | null;
}

export interface Seen {
  kind: ChangeKind;
  /** The task the change became, and when the change was made (epoch ms). */
  taskId: string;
  changedAt: number;
  latencyMs: number;
  /** Counted at the drain's end: it never became visible. */
  missing: boolean;
  /** The least this change could have taken on this machine. */
  floorMs: number;
}

export interface Distribution {
  n: number;
  missing: number;
  p50: number;
  p95: number;
  p99: number;
  floor_p50: number;
  floor_p99: number;
  p99_over_floor: number;
}

export const round = (n: number) => Math.round(n * 100) / 100;

export function distribution(seen: Seen[]): Distribution {
  const latencies = seen.map((s) => s.latencyMs);
  const floors = seen.map((s) => s.floorMs);
  const p99 = percentile(latencies, 99);
  const floorP99 = percentile(floors, 99);
  return {
    n: seen.length,
    missing: seen.filter((s) => s.missing).length,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99,
    floor_p50: round(percentile(floors, 50)),
    floor_p99: round(floorP99),
    p99_over_floor: round(p99 / floorP99),
  };
}

/**
 * The floor of one change: an announced one needs its push, history.list, the metadata and
 * the task write; a burst tail cannot be seen before Gmail's interval is over, then needs a
 * look (history.list + metadata) and the write.
 */
export function floorOf(expectation: Expectation, parts: { pubsub_push_ms: number; google_call_ms: number; firestore_write_ms: number }): number {
  const work = 2 * parts.google_call_ms + parts.firestore_write_ms;
  if (expectation.kind === 'tail') return Math.max(0, (expectation.notifiableAt ?? expectation.changedAt) - expectation.changedAt) + work;
  return parts.pubsub_push_ms + work;
}

/** The slowest 1% of each kind's changes (at least 5), slowest first: where to look in the functions' log. */
export function slowest(seen: Seen[]): Record<ChangeKind, { taskId: string; changedAt: string; latencyMs: number; floorMs: number; missing: boolean }[]> {
  const of = (kind: ChangeKind) => {
    const ofKind = seen.filter((s) => s.kind === kind).sort((a, b) => b.latencyMs - a.latencyMs);
    return ofKind.slice(0, Math.max(5, Math.ceil(ofKind.length / 100))).map((s) => ({ taskId: s.taskId, changedAt: new Date(s.changedAt).toISOString(), latencyMs: s.latencyMs, floorMs: round(s.floorMs), missing: s.missing }));
  };
  return { announced: of('announced'), tail: of('tail'), calendar: of('calendar') };
}

export interface GoogleCost {
  /** HTTP requests to Google (a batch is one), Gmail and Calendar. */
  httpRequests: number;
  gmailHttpRequests: number;
  calendarHttpRequests: number;
  gmailUnits: number;
  historyLists: number;
  batches: number;
}

/** From the sandbox's per-account counts: batch parts are charged as calls but are not requests. */
export function googleCost(calls: Record<string, Record<string, number>>): GoogleCost {
  const cost: GoogleCost = { httpRequests: 0, gmailHttpRequests: 0, calendarHttpRequests: 0, gmailUnits: 0, historyLists: 0, batches: 0 };
  for (const methods of Object.values(calls)) {
    const parts = methods['gmail.batch.parts'] ?? 0;
    for (const [method, n] of Object.entries(methods)) {
      if (method === 'gmail.batch.parts') continue;
      cost.httpRequests += n;
      if (method.startsWith('gmail.')) cost.gmailHttpRequests += n;
      if (method.startsWith('calendar.')) cost.calendarHttpRequests += n;
      if (method.startsWith('gmail.users.')) cost.gmailUnits += n * (DEFAULT_QUOTA.gmailCosts[method] ?? 5);
    }
    cost.httpRequests -= parts;
    cost.gmailHttpRequests -= parts;
    cost.historyLists += methods['gmail.users.history.list'] ?? 0;
    cost.batches += methods['gmail.batch'] ?? 0;
  }
  return cost;
}

/** One messages.get per new message plus one history.list per notification Gmail sent. */
export function unitsFloorPerMessage(newMessages: number, announced: number): number {
  const costs = DEFAULT_QUOTA.gmailCosts;
  return round((costs['gmail.users.messages.get']! * newMessages + costs['gmail.users.history.list']! * announced) / Math.max(1, newMessages));
}

/** Calls per Gmail notification handled; `null` when none was (a strategy that drops every push). */
export function perNotification(calls: number, notifications: number, pushesHandled: boolean): number | null {
  return !pushesHandled || notifications === 0 ? null : round(calls / notifications);
}
