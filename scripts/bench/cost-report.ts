import { FUNCTION_DEPLOYMENT, QUEUES, type Manifest } from '../deploy/manifest';
import { whatRunsOutFirst, type Binding } from './limits';
import { costPerAccount, type CostBreakdown, type CostLine, type Profile, type Schedule, type Unit, type UnitName } from './cost-model';
import { deployedSizes, type CostPhaseResult } from './cost-phase';

/** The profile the issue states, per connected account and day. */
export const PROFILE: Profile = {
  mailsPerDay: 100,
  calendarChangesPerDay: 10,
  archivesPerDay: 20,
  // One minute a day on the status page, which refreshes every 3 s.
  statusRequestsPerDay: 20,
};

/** The fixed costs are shared by this many accounts in the headline figure. */
export const ACCOUNTS = 1000;

/** Scheduler runs per day of a cron schedule of the forms the manifest uses. */
export function runsPerDay(cron: string): number {
  const [minute, hour] = cron.split(' ');
  if (minute?.startsWith('*/')) return (24 * 60) / Number(minute.slice(2));
  if (hour === '*') return 24;
  return 1;
}

/**
 * The schedule from the deployment and the shipped defaults: fallback after 10 quiet
 * minutes; Gmail watches last 7 days and channels 168 h, renewed with 24 h left; one audit a
 * day of at most 200 messages. Secret Manager: one access per instance start of each function
 * that mounts the secret, ESTIMATED at one start per 15 minutes each (an idle instance stops
 * after about that long).
 */
export function deployedSchedule(manifest: Manifest): Schedule {
  const schedules = Object.values(manifest.schedules);
  const withSecret = Object.values(FUNCTION_DEPLOYMENT).filter((spec) => (spec.secrets ?? []).length > 0).length;
  return {
    fallbackAfterMinutes: 10,
    pollJobEveryMinutes: 24 * 60 / runsPerDay(manifest.schedules.fallbackPoll!.schedule),
    renewEveryDays: Math.min(7, 168 / 24) - 1,
    auditsPerDay: 1,
    auditMaxItems: 200,
    jobRunsPerDay: schedules.reduce((a, s) => a + runsPerDay(s.schedule), 0),
    schedulerJobs: schedules.length,
    secretAccessesPerDay: withSecret * 96,
    kmsKeyVersions: 1,
    secretVersions: 1,
  };
}

export function priceCost(cost: CostPhaseResult, manifest: Manifest): CostBreakdown {
  return costPerAccount(cost.units, PROFILE, deployedSchedule(manifest), deployedSizes(), ACCOUNTS);
}

const usd = (n: number) => (n >= 0.01 ? n.toFixed(4) : n.toPrecision(2));

export function costTable(breakdown: CostBreakdown): string {
  const total = breakdown.totalPerAccountMonth;
  const lines = (Object.entries(breakdown.perAccountMonth) as [CostLine, number][]).sort((a, b) => b[1] - a[1]);
  return [
    '| line | USD per account per month | USD per 1,000 accounts per month | share |',
    '|---|---|---|---|',
    ...lines.map(([line, v]) => `| ${line} | ${usd(v)} | ${(v * 1000).toFixed(2)} | ${((100 * v) / total).toFixed(1)} % |`),
    `| **total** | **${usd(total)}** | **${breakdown.per1000AccountsMonth.toFixed(2)}** | 100 % |`,
  ].join('\n');
}

const billable = (u: Unit) => Object.values(u.functions).reduce((a, f) => a + f.billableSeconds, 0);
const invocations = (u: Unit) => Object.values(u.functions).reduce((a, f) => a + f.invocations, 0);
const r = (n: number) => (Math.abs(n) >= 10 ? Math.round(n) : Math.round(n * 100) / 100);

export function unitTable(cost: CostPhaseResult, breakdown: CostBreakdown): string {
  const names = Object.keys(cost.units) as UnitName[];
  return [
    '| unit | measured over | per account per month | Firestore reads / writes / deletes | invocations | instance s | Pub/Sub requests | Cloud Tasks ops | KMS decrypts | log bytes |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...names.map((n) => {
      const u = cost.units[n];
      const over = n.startsWith('audit') ? `${cost.counts.audit} audits` : `${cost.counts[n]}`;
      return `| ${n} | ${over} | ${r(breakdown.unitsPerAccountMonth[n])} | ${r(u.firestoreReads)} / ${r(u.firestoreWrites)} / ${r(u.firestoreDeletes)} | ${r(invocations(u))} | ${r(billable(u))} | ${r(u.pubsubRequests)} | ${r(u.cloudTasksOps)} | ${r(u.kmsDecrypts)} | ${r(u.logBytes)} |`;
    }),
  ].join('\n');
}

/** The limits table under the profile, from the cost phase's units and the deployment's capacities. */
export function limitsUnderProfile(cost: CostPhaseResult, manifest: Manifest): Binding[] {
  const capacities = Object.entries(manifest.functions)
    .filter(([name]) => Object.values(cost.units).some((u) => (u.functions[name]?.requestSeconds ?? 0) > 0) && !manifest.schedules[name])
    .map(([name, f]) => ({ name, maxInstances: f.maxInstances, concurrency: f.concurrency }));
  return whatRunsOutFirst({
    units: cost.units,
    google: cost.google,
    profile: PROFILE,
    schedule: deployedSchedule(manifest),
    capacities,
    followUpDispatchesPerSecond: QUEUES['gmail-follow-ups'].maxDispatchesPerSecond,
    followUpMaxConcurrentDispatches: QUEUES['gmail-follow-ups'].maxConcurrentDispatches,
    // A lone mail's writes less its task: the lease's record and the step's end.
    sourceWritesPerLoneChange: Math.max(0, cost.units.mail.firestoreWrites - 1),
  });
}
