import type { SandboxStats } from '../../sandbox/src/admin-client';
import type { SyncRequestPublisher } from '../../functions/src/engine/jobs/ports';
import { onPublish, type Flow } from './usage';

/**
 * When the engine on the local stack has nothing left to do: no request being served, every
 * Gmail notification and sync request published has been acknowledged, no tail look (Cloud
 * Task) and no push waiting in the sandbox, and no new invocation for a few checks running.
 * The bench starts a measured step only then, so that a step's counts hold its own work and
 * none of what an earlier step left queued; how long the wait took is a figure of its own.
 */

/** Work still queued or under way. */
export interface Backlog {
  /** Requests the functions are serving now. */
  inFlight: number;
  /** Gmail notifications published and not yet acknowledged by gmailPush. */
  gmailNotifications: number;
  /** Sync requests (the functions' and the bench's own) published and not yet acknowledged by syncWorker. */
  syncRequests: number;
  /** Tail looks (Cloud Tasks) not yet done. */
  followUps: number;
  /** Pushes the sandbox has not yet delivered (Gmail publishes, Calendar notifications, their retries). */
  pushes: number;
}

export function backlogOf(flow: Flow, sandbox: Pick<SandboxStats, 'pushes' | 'pending'>, benchPublished: number): Backlog {
  const acknowledged = (name: string) => flow.acknowledged[name] ?? 0;
  return {
    inFlight: flow.inFlight,
    gmailNotifications: (sandbox.pushes.gmailPublished ?? 0) - acknowledged('gmailPush'),
    syncRequests: flow.syncRequestsPublished + benchPublished - acknowledged('syncWorker'),
    followUps: sandbox.pending.tasks,
    pushes: sandbox.pending.pushes,
  };
}

/**
 * Nothing queued and nothing under way. A message Pub/Sub delivered twice counts twice as
 * acknowledged, so a queue's figure can fall below zero; it is idle at zero or below.
 */
export function isIdle(backlog: Backlog): boolean {
  return Object.values(backlog).every((n) => n <= 0);
}

export interface Probe {
  backlog: Backlog;
  /** Invocations started so far (any count that only grows). */
  invocations: number;
}

export interface Settle {
  /** From the call until the first of the quiet checks: how long the engine took to finish. */
  ms: number;
  /** False when `maxMs` ran out first: the step that follows would count leftover work. */
  idle: boolean;
  /** At the first check, and at the last. */
  first: Backlog;
  last: Backlog;
}

export interface SettleOptions {
  /** Consecutive idle checks, with no new invocation between them, that make it idle. */
  quietChecks: number;
  everyMs: number;
  maxMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

export async function waitForIdle(probe: () => Promise<Probe>, options: SettleOptions): Promise<Settle> {
  const { quietChecks, everyMs, maxMs, now, sleep } = options;
  const started = now();
  let current = await probe();
  const first = current.backlog;
  let quietSince = isIdle(current.backlog) ? now() : null;
  let quiet = quietSince === null ? 0 : 1;
  while (quiet < quietChecks) {
    if (now() - started >= maxMs) return { ms: now() - started, idle: false, first, last: current.backlog };
    await sleep(everyMs);
    const next = await probe();
    const still = isIdle(next.backlog) && (quiet === 0 || next.invocations === current.invocations);
    quiet = still ? quiet + 1 : 0;
    if (quiet === 1) quietSince = now();
    if (quiet === 0) quietSince = null;
    current = next;
  }
  return { ms: (quietSince ?? now()) - started, idle: true, first, last: current.backlog };
}

/** Counts what a publisher publishes (the bench's own polls, renewals and audits), patching it in place. */
export function countPublished(publisher: SyncRequestPublisher): { count: number } {
  const counter = { count: 0 };
  onPublish(publisher, () => {
    counter.count += 1;
  });
  return counter;
}
