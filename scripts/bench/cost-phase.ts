import type { LocalStack } from '../lib/local-stack';
import { FUNCTION_DEPLOYMENT } from '../deploy/manifest';
import { auditParts, unitOf, type Measurement, type Sizes, type Unit, type UnitName } from './cost-model';
import { googleCost } from './figures';
import { backlogOf, waitForIdle, type Probe, type Settle } from './idle';

/**
 * The bench's cost phase: on the engine's stack, after its workload, one kind of work at a
 * time (lone new mails, calendar changes, archives, polls, watch renewals, audits, status
 * requests, a fallbackPoll run), each measured from a reset of the hosts' counters until the
 * engine is idle (idle.ts: queues empty, nothing under way), and divided by how many units it
 * was. The caller starts it once the workload's backlog has settled. A poll of every source
 * comes first, measured apart: each account's first Calendar listing happens once, not with
 * every unit. Polls, renewals and audits are published the way their scheduled job fans them
 * out; the model adds the job's share.
 */

export interface Delivered {
  source: number;
  messageId: string;
}

export interface CostPhaseInput {
  stack: LocalStack;
  sourceCount: number;
  /** Messages still in the inbox with their task: what the archive step archives. */
  delivered: Delivered[];
  /** Changes each source received during the workload (what its audit window holds). */
  changesPerSource: number[];
  users: number;
  seconds: number;
  sample: number;
  random: () => number;
  progress: (line: string) => void;
  /** The stack's idle check (idleProbe), with the bench's own publishes counted. */
  probe: () => Promise<Probe>;
}

/** Google requests per unit: Gmail quota units and Calendar requests (each counts against a per-project quota). */
export interface GoogleUse {
  gmailUnits: number;
  calendarRequests: number;
}

export interface CostPhaseResult {
  units: Record<UnitName, Unit>;
  /** Per unit; an audit's Google requests are all counted in `auditBase`. */
  google: Partial<Record<UnitName, GoogleUse>>;
  counts: Record<string, number>;
  audit: { lowItems: number; highItems: number };
  statusSourcesPerRequest: number;
  /**
   * Per source, the poll of every source before the units: for a source whose Calendar was
   * never listed, its first (full) listing, which each account needs once. Not in the monthly units.
   */
  firstSync: Unit;
  /** Per step (`firstPoll`, the units, each audit group, `jobRun`): sending its work, then settling. */
  timings: Record<string, StepTiming>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Four idle checks a second apart: three seconds without a new invocation, as a tail look is due 1.1 s after its pass. */
const IDLE = { quietChecks: 4, everyMs: 1000, maxMs: 20 * 60_000, now: () => Date.now(), sleep };

/** How long a step's own work took to send, and how long the engine then took to become idle. */
export interface StepTiming {
  workMs: number;
  settle: Settle;
}

/** Watches the local stack's queues (idle.ts); `published` counts the bench's own sync requests. */
export function idleProbe(stack: LocalStack, published: { count: number }): () => Promise<Probe> {
  return async () => {
    const [hosts, sandbox] = await Promise.all([stack.hostStats(), stack.admin.stats()]);
    return { backlog: backlogOf(hosts.flow, sandbox, published.count), invocations: Object.values(hosts.usage.functions).reduce((a, f) => a + f.invocations, 0) };
  };
}

export const settleStack = (probe: () => Promise<Probe>): Promise<Settle> => waitForIdle(probe, IDLE);

/** Runs `work` from zeroed counters, then waits until the engine is idle (idle.ts) and reads the counters. */
async function measure(stack: LocalStack, probe: () => Promise<Probe>, work: () => Promise<number>): Promise<{ m: Measurement; count: number; google: GoogleUse; timing: StepTiming }> {
  await stack.hostStats(true);
  await stack.admin.resetStats();
  const started = Date.now();
  const count = await work();
  const workMs = Date.now() - started;
  const settle = await settleStack(probe);
  const stats = await stack.hostStats();
  const cost = googleCost((await stack.admin.stats()).calls);
  const per = (n: number) => n / Math.max(1, count);
  return { m: stats, count, google: { gmailUnits: per(cost.gmailUnits), calendarRequests: per(cost.httpRequests - cost.gmailHttpRequests) }, timing: { workMs, settle } };
}

/** Calls `each` at `perSecond` for `seconds`, returns how many it made. */
async function paced(perSecond: number, seconds: number, each: (k: number) => Promise<unknown>): Promise<number> {
  const inFlight: Promise<unknown>[] = [];
  const total = Math.max(1, Math.round(perSecond * seconds));
  for (let k = 0; k < total; k += 1) {
    inFlight.push(each(k));
    await sleep(1000 / perSecond);
  }
  await Promise.all(inFlight);
  return total;
}

const email = (i: number) => `bench${i}@example.com`;
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

export async function runCostPhase(input: CostPhaseInput): Promise<CostPhaseResult> {
  const { stack, sourceCount, seconds, random, progress } = input;
  const pick = () => {
    const i = Math.floor(random() * sourceCount);
    input.changesPerSource[i] = (input.changesPerSource[i] ?? 0) + 1;
    return i;
  };
  const counts: Record<string, number> = {};
  const units: Partial<Record<UnitName, Unit>> = {};
  const google: CostPhaseResult['google'] = {};
  const timings: Record<string, StepTiming> = {};
  const measured = async (name: string, work: () => Promise<number>) => {
    const result = await measure(stack, input.probe, work);
    timings[name] = result.timing;
    return result;
  };
  const step = async (name: UnitName, work: () => Promise<number>, fannedOut = false) => {
    progress(`cost phase: ${name}`);
    const { m, count, google: use } = await measured(name, work);
    counts[name] = count;
    google[name] = use;
    units[name] = unitOf(m, count, fannedOut);
    return m;
  };

  const publishAll = (ids: number[], request: (id: string) => Parameters<LocalStack['services']['publisher']['publish']>[0]) =>
    paced(20, ids.length / 20, (k) => stack.services.publisher.publish(request(`bench-${ids[k]!}`)));
  const pageSize = stack.config.pollPageSize;
  const pollRequest = (sourceId: string) => ({ kind: 'sync', sourceId, trigger: 'poll', gmail: true, calendar: true, pageSize }) as const;

  // An account's first Calendar pass is a full listing with a sweep (no sync token yet): one
  // poll of every source first, measured apart as a once-per-account cost, so that the
  // monthly units meet sources in the state they keep.
  progress('cost phase: a poll of every source first');
  const first = await measured('firstPoll', () => publishAll(Array.from({ length: sourceCount }, (_, k) => k), pollRequest));
  const firstSync = unitOf(first.m, first.count, true);

  await step('mail', () => paced(4, seconds, (k) => stack.admin.deliverMail(email(pick()), { subject: `cost ${k}` })));
  await step('calendar', () =>
    paced(1, seconds, (k) => {
      const start = new Date(Date.now() + 86_400_000 * (1 + (k % 5)));
      return stack.admin.createEvent(email(pick()), { summary: `cost ${k}`, start: { dateTime: start.toISOString() }, end: { dateTime: new Date(start.getTime() + 1_800_000).toISOString() } });
    }),
  );
  const archivable = [...input.delivered];
  await step('archive', () => paced(2, Math.min(seconds, archivable.length / 2), (k) => {
      const { source, messageId } = archivable[k]!;
      input.changesPerSource[source] = (input.changesPerSource[source] ?? 0) + 1;
      return stack.admin.archiveMail(email(source), messageId);
    }),
  );

  const sample = Array.from({ length: Math.min(input.sample, sourceCount) }, (_, k) => Math.floor((k * sourceCount) / Math.min(input.sample, sourceCount)));
  await step('poll', () => publishAll(sample, pollRequest), true);
  await step('renewal', () => publishAll(sample, (sourceId) => ({ kind: 'renew', sourceId })), true);

  // Audits in two groups, the sources with the fewest changes and those with the most: the
  // difference gives the part that grows with the changes in an audit's window.
  const bySize = [...sample].sort((a, b) => (input.changesPerSource[a] ?? 0) - (input.changesPerSource[b] ?? 0));
  const half = Math.floor(bySize.length / 2);
  const groups = [bySize.slice(0, half), bySize.slice(half)];
  const itemsOf = (g: number[]) => g.reduce((a, i) => a + (input.changesPerSource[i] ?? 0), 0) / Math.max(1, g.length);
  const auditUnits: Unit[] = [];
  const auditUse: GoogleUse = { gmailUnits: 0, calendarRequests: 0 };
  for (const [g, group] of groups.entries()) {
    progress('cost phase: audits');
    const { m, count, google: use } = await measured(`audit${g + 1}`, () => publishAll(group, (sourceId) => ({ kind: 'audit', sourceId })));
    auditUnits.push(unitOf(m, count, true));
    auditUse.gmailUnits += use.gmailUnits / groups.length;
    auditUse.calendarRequests += use.calendarRequests / groups.length;
  }
  google.auditBase = auditUse;
  const audit = { lowItems: itemsOf(groups[0]!), highItems: itemsOf(groups[1]!) };
  const parts = auditParts({ unit: auditUnits[0]!, items: audit.lowItems }, { unit: auditUnits[1]!, items: audit.highItems });
  units.auditBase = parts.base;
  units.auditPerItem = parts.perItem;
  counts.audit = groups[0]!.length + groups[1]!.length;

  // Status: every user's request lists all their sources; the model wants one account's share.
  let listed = 0;
  const statusUrl = stack.statusUrl();
  await step('status', () =>
    paced(5, input.users / 5, async (k) => {
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: `https://securetoken.google.com/${stack.projectId}`, aud: stack.projectId, sub: `user-${k}`, iat: now, exp: now + 3600 };
      const response = await fetch(statusUrl, { headers: { Authorization: `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`, Accept: 'application/json' } });
      listed += ((await response.json()) as { sources?: unknown[] }).sources?.length ?? 0;
    }),
  );
  const statusSourcesPerRequest = listed / Math.max(1, counts.status!);
  units.status = { ...units.status!, firestoreReads: units.status!.firestoreReads / Math.max(1, statusSourcesPerRequest) };

  // One fallbackPoll run; whatever it fanned out is taken off at the measured cost of a poll.
  let requested = 0;
  counts.jobRun = 1;
  const jobRun = await measured('jobRun', async () => {
    const response = await fetch(stack.host.functionUrl('fallbackPoll'), { method: 'POST' });
    requested = ((await response.json()) as { requested?: number }).requested ?? 0;
    return 1;
  });
  counts.jobRunFannedOut = requested;
  const run = unitOf(jobRun.m, 1);
  const poll = units.poll!;
  units.jobRun = {
    ...run,
    firestoreReads: Math.max(3, run.firestoreReads - requested * poll.firestoreReads),
    firestoreWrites: Math.max(0, run.firestoreWrites - requested * poll.firestoreWrites),
    firestoreDeletes: Math.max(0, run.firestoreDeletes - requested * poll.firestoreDeletes),
    functions: { fallbackPoll: run.functions.fallbackPoll ?? { invocations: 1, billableSeconds: 0.1, requestSeconds: 0.1 } },
    pubsubRequests: 0,
    pubsubBilledBytes: 0,
    cloudTasksOps: 0,
    kmsDecrypts: 0,
    logBytes: Math.max(0, run.logBytes - requested * poll.logBytes),
  };
  return { units: units as Record<UnitName, Unit>, google, counts, audit, statusSourcesPerRequest, firstSync, timings };
}

/** Each function's deployed vCPU and memory (GiB), from the deployment manifest. */
export function deployedSizes(): Sizes {
  const gib = (memory: string) => (memory.endsWith('Gi') ? Number(memory.slice(0, -2)) : Number(memory.slice(0, -2)) / 1024);
  return Object.fromEntries(Object.entries(FUNCTION_DEPLOYMENT).map(([name, spec]) => [name, { vcpu: Number(spec.capacity.cpu), gib: gib(spec.capacity.memory) }]));
}
