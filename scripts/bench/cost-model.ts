import { costOf, LOG_ENTRY_ENVELOPE_BYTES, PUBSUB_MIN_BYTES_PER_REQUEST, REQUEST_LOG_FIELDS_BYTES, type PriceName } from './prices';
import type { Usage } from './usage';

/**
 * The cost model: what one connected account costs Google Cloud per month, from what the
 * bench measured per unit of work (a new mail, a calendar change, an archive, a poll, a
 * renewal, an audit, a status request) times how often the profile makes each happen, plus
 * the project's fixed costs shared by its accounts. Pure arithmetic, no I/O: the unit test
 * checks it against figures worked out by hand. List prices without free tiers.
 */

/** What one unit of work used, measured by the bench (averages over many units). */
export interface Unit {
  firestoreReads: number;
  firestoreWrites: number;
  /** Explicit deletes plus documents written to TTL collections (each deleted later by the TTL policy). */
  firestoreDeletes: number;
  /**
   * Per function: invocations, billed instance seconds (busy time, 100 ms granules) and the
   * requests' own durations summed (what holds a slot of the function's capacity).
   */
  functions: Record<string, { invocations: number; billableSeconds: number; requestSeconds: number }>;
  /** Publish and delivery requests, and the bytes they are billed for (each at least 1,000). */
  pubsubRequests: number;
  pubsubBilledBytes: number;
  /** Cloud Tasks API calls and delivery attempts. */
  cloudTasksOps: number;
  kmsDecrypts: number;
  /** Bytes of log ingested, LogEntry envelopes included. */
  logBytes: number;
}

export type UnitName = 'mail' | 'calendar' | 'archive' | 'poll' | 'renewal' | 'auditBase' | 'auditPerItem' | 'status' | 'jobRun';

/** The deployed size of each function: vCPU and GiB billed per instance second. */
export type Sizes = Record<string, { vcpu: number; gib: number }>;

export interface Profile {
  mailsPerDay: number;
  calendarChangesPerDay: number;
  archivesPerDay: number;
  /** Status page requests per account and day (the page refreshes every 3 s while open). */
  statusRequestsPerDay: number;
}

export interface Schedule {
  /** Minutes without a push or a check after which fallbackPoll polls a source, and the job's period. */
  fallbackAfterMinutes: number;
  pollJobEveryMinutes: number;
  /** Days between watch renewals (the shorter lifetime, less the renewal margin). */
  renewEveryDays: number;
  auditsPerDay: number;
  /** Gmail messages an audit checks at most (AUDIT_MAX_MESSAGES). */
  auditMaxItems: number;
  /** Scheduled job runs per day, all jobs together, and how many Scheduler jobs exist. */
  jobRunsPerDay: number;
  schedulerJobs: number;
  /** Estimated instance starts per day of the services that mount the OAuth secret, all together: one Secret Manager access each. */
  secretAccessesPerDay: number;
  kmsKeyVersions: number;
  secretVersions: number;
}

export type CostLine = 'firestore reads' | 'firestore writes' | 'firestore deletes (TTL included)' | 'functions CPU' | 'functions memory' | 'functions requests' | 'Pub/Sub' | 'Cloud Tasks' | 'Cloud Scheduler' | 'KMS' | 'Secret Manager' | 'Cloud Logging';

export interface CostBreakdown {
  /** USD per connected account per month, by line; fixed project costs are shared by `accounts`. */
  perAccountMonth: Record<CostLine, number>;
  totalPerAccountMonth: number;
  per1000AccountsMonth: number;
  /** How many units of each kind one account causes per month. */
  unitsPerAccountMonth: Record<UnitName, number>;
  pollsPerDay: number;
}

const DAYS_PER_MONTH = 30;

/**
 * Polls a day for a source whose pushes arrive as a Poisson process: each quiet spell ends in
 * a push, or in a poll once it has lasted the threshold plus, on average, half the job's
 * period. A renewal cycle of expected length (1 − e^(−λT))/λ ends in a poll with probability
 * e^(−λT).
 */
export function pollsPerDay(pushesPerDay: number, schedule: Pick<Schedule, 'fallbackAfterMinutes' | 'pollJobEveryMinutes'>): number {
  const minutes = 24 * 60;
  const quietMinutes = schedule.fallbackAfterMinutes + schedule.pollJobEveryMinutes / 2;
  if (pushesPerDay <= 0) return minutes / quietMinutes;
  const lambda = pushesPerDay / minutes;
  const pollChance = Math.exp(-lambda * quietMinutes);
  const cycleMinutes = (1 - pollChance) / lambda;
  return (minutes / cycleMinutes) * pollChance;
}

/** Each unit kind's count per account and month under the profile. */
export function unitsPerAccountMonth(profile: Profile, schedule: Schedule, accounts: number): { units: Record<UnitName, number>; polls: number } {
  const changes = profile.mailsPerDay + profile.calendarChangesPerDay + profile.archivesPerDay;
  const polls = pollsPerDay(changes, schedule);
  const perDay: Record<UnitName, number> = {
    mail: profile.mailsPerDay,
    calendar: profile.calendarChangesPerDay,
    archive: profile.archivesPerDay,
    poll: polls,
    renewal: 1 / schedule.renewEveryDays,
    auditBase: schedule.auditsPerDay,
    auditPerItem: schedule.auditsPerDay * Math.min(schedule.auditMaxItems, changes),
    status: profile.statusRequestsPerDay,
    jobRun: schedule.jobRunsPerDay / accounts,
  };
  const units = Object.fromEntries(Object.entries(perDay).map(([k, v]) => [k, v * DAYS_PER_MONTH])) as Record<UnitName, number>;
  return { units, polls };
}

type Lines = Record<CostLine, number>;
const noLines = (): Lines => ({
  'firestore reads': 0,
  'firestore writes': 0,
  'firestore deletes (TTL included)': 0,
  'functions CPU': 0,
  'functions memory': 0,
  'functions requests': 0,
  'Pub/Sub': 0,
  'Cloud Tasks': 0,
  'Cloud Scheduler': 0,
  KMS: 0,
  'Secret Manager': 0,
  'Cloud Logging': 0,
});

/** USD of `count` units of one kind, by line. */
export function unitCost(unit: Unit, count: number, sizes: Sizes): Lines {
  const lines = noLines();
  const add = (line: CostLine, price: PriceName, quantity: number) => (lines[line] += costOf(price, quantity * count));
  add('firestore reads', 'firestoreRead', unit.firestoreReads);
  add('firestore writes', 'firestoreWrite', unit.firestoreWrites);
  add('firestore deletes (TTL included)', 'firestoreDelete', unit.firestoreDeletes);
  for (const [name, f] of Object.entries(unit.functions)) {
    const size = sizes[name];
    if (!size) throw new Error(`no deployed size for function ${name}`);
    add('functions CPU', 'runVcpuSecond', f.billableSeconds * size.vcpu);
    add('functions memory', 'runGibSecond', f.billableSeconds * size.gib);
    add('functions requests', 'runRequest', f.invocations);
  }
  add('Pub/Sub', 'pubsubTib', unit.pubsubBilledBytes);
  add('Cloud Tasks', 'cloudTasksOperation', unit.cloudTasksOps);
  add('KMS', 'kmsOperation', unit.kmsDecrypts);
  add('Cloud Logging', 'loggingGib', unit.logBytes);
  return lines;
}

export function costPerAccount(units: Record<UnitName, Unit>, profile: Profile, schedule: Schedule, sizes: Sizes, accounts: number): CostBreakdown {
  const { units: counts, polls } = unitsPerAccountMonth(profile, schedule, accounts);
  const lines = noLines();
  for (const name of Object.keys(counts) as UnitName[]) {
    const each = unitCost(units[name], counts[name], sizes);
    for (const line of Object.keys(lines) as CostLine[]) lines[line] += each[line];
  }
  // The project's fixed costs, shared by its accounts.
  lines['Cloud Scheduler'] += costOf('schedulerJob', schedule.schedulerJobs) / accounts;
  lines.KMS += costOf('kmsKeyVersion', schedule.kmsKeyVersions) / accounts;
  lines['Secret Manager'] += (costOf('secretVersion', schedule.secretVersions) + costOf('secretAccess', schedule.secretAccessesPerDay * DAYS_PER_MONTH)) / accounts;
  const total = Object.values(lines).reduce((a, b) => a + b, 0);
  return { perAccountMonth: lines, totalPerAccountMonth: total, per1000AccountsMonth: total * 1000, unitsPerAccountMonth: counts, pollsPerDay: polls };
}

/** Pub/Sub bytes billed for `requests` requests of `averageBytes` each: each counts at least 1,000. */
export const pubsubBilledBytes = (requests: number, averageBytes: number): number => requests * Math.max(PUBSUB_MIN_BYTES_PER_REQUEST, averageBytes);

/** Log bytes billed: each structured line and each request log line, with the LogEntry envelope. */
export const loggedBytes = (log: { lines: number; bytes: number; requestLines: number; requestBytes: number }): number =>
  log.bytes + log.lines * LOG_ENTRY_ENVELOPE_BYTES + log.requestBytes + log.requestLines * (LOG_ENTRY_ENVELOPE_BYTES + REQUEST_LOG_FIELDS_BYTES);

/** What the bench counted over a stretch of work (all host processes together). */
export interface Measurement {
  reads: number;
  writes: number;
  deletes: number;
  ttlWrites: number;
  usage: Usage;
}

/**
 * One unit's share of a measurement over `count` units. `fannedOut`: the scheduled job's part
 * that the bench did itself when it published the requests directly (per unit: the query
 * result the job reads and the request it publishes).
 */
export function unitOf(m: Measurement, count: number, fannedOut = false): Unit {
  const u = m.usage;
  const fn = (name: string) => u.functions[name] ?? { invocations: 0, billableMs: 0, requestMs: 0, bodyBytes: 0 };
  const deliveries = fn('gmailPush').invocations + fn('syncWorker').invocations;
  const deliveryBytes = deliveries === 0 ? 0 : (fn('gmailPush').bodyBytes + fn('syncWorker').bodyBytes) / deliveries;
  const jobPublishes = fannedOut ? count : 0;
  const ourPublishes = u.syncRequestsPublished + jobPublishes;
  const publishBytes = u.syncRequestsPublished === 0 ? 0 : u.syncRequestBytes / u.syncRequestsPublished;
  // Gmail publishes each notification to our topic: billed to the topic's project.
  const gmailPublishes = fn('gmailPush').invocations;
  const per = (n: number) => n / count;
  return {
    firestoreReads: per(m.reads + (fannedOut ? count : 0)),
    firestoreWrites: per(m.writes - m.deletes),
    firestoreDeletes: per(m.deletes + m.ttlWrites),
    functions: Object.fromEntries(Object.entries(u.functions).map(([name, f]) => [name, { invocations: per(f.invocations), billableSeconds: per(f.billableMs / 1000), requestSeconds: per(f.requestMs / 1000) }])),
    pubsubRequests: per(deliveries + ourPublishes + gmailPublishes),
    pubsubBilledBytes: per(pubsubBilledBytes(deliveries, deliveryBytes) + pubsubBilledBytes(ourPublishes, publishBytes) + pubsubBilledBytes(gmailPublishes, 0)),
    cloudTasksOps: per(u.cloudTasksCreates + fn('gmailFollowUp').invocations),
    kmsDecrypts: per(u.kmsDecrypts),
    logBytes: per(loggedBytes({ lines: u.logLines, bytes: u.logBytes, requestLines: u.requestLogLines, requestBytes: u.requestLogBytes })),
  };
}

/** The per-item part of an audit: the difference between two groups of audits over the difference in items in their windows. */
export function auditParts(low: { unit: Unit; items: number }, high: { unit: Unit; items: number }): { base: Unit; perItem: Unit } {
  const span = high.items - low.items;
  if (span <= 0) return { base: low.unit, perItem: scaleUnit(low.unit, 0) };
  const perItem = mapUnit(high.unit, low.unit, (h, l) => Math.max(0, (h - l) / span));
  const base = mapUnit(low.unit, perItem, (l, p) => Math.max(0, l - p * low.items));
  return { base, perItem };
}

export const scaleUnit = (unit: Unit, k: number): Unit => mapUnit(unit, unit, (a) => a * k);

function mapUnit(a: Unit, b: Unit, f: (x: number, y: number) => number): Unit {
  const names = new Set([...Object.keys(a.functions), ...Object.keys(b.functions)]);
  const fnOf = (u: Unit, n: string) => u.functions[n] ?? { invocations: 0, billableSeconds: 0, requestSeconds: 0 };
  return {
    firestoreReads: f(a.firestoreReads, b.firestoreReads),
    firestoreWrites: f(a.firestoreWrites, b.firestoreWrites),
    firestoreDeletes: f(a.firestoreDeletes, b.firestoreDeletes),
    functions: Object.fromEntries(
      [...names].map((n) => {
        const [x, y] = [fnOf(a, n), fnOf(b, n)];
        return [n, { invocations: f(x.invocations, y.invocations), billableSeconds: f(x.billableSeconds, y.billableSeconds), requestSeconds: f(x.requestSeconds, y.requestSeconds) }];
      }),
    ),
    pubsubRequests: f(a.pubsubRequests, b.pubsubRequests),
    pubsubBilledBytes: f(a.pubsubBilledBytes, b.pubsubBilledBytes),
    cloudTasksOps: f(a.cloudTasksOps, b.cloudTasksOps),
    kmsDecrypts: f(a.kmsDecrypts, b.kmsDecrypts),
    logBytes: f(a.logBytes, b.logBytes),
  };
}
