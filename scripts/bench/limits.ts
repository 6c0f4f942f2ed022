import type { Profile, Schedule, Unit, UnitName } from './cost-model';
import { unitsPerAccountMonth } from './cost-model';
import type { GoogleUse } from './cost-phase';

/**
 * The limits that bound how many accounts one deployment serves, each with its source, and
 * the number of accounts at which each binds under the profile, from the per-unit figures
 * the bench measured. Pure arithmetic (test/unit/cost-model.test.ts).
 */
export const LIMITS = {
  gmailUnitsPerMinutePerProject: { value: 1_200_000, source: 'https://developers.google.com/workspace/gmail/api/reference/quota (projects created since 2026-05-01)' },
  calendarRequestsPerMinutePerProject: { value: 10_000, source: 'https://developers.google.com/workspace/calendar/api/guides/quota' },
  firestoreWritesPerSecondPerDocument: { value: 1, source: 'https://cloud.google.com/firestore/docs/best-practices (sustained, soft: contention above it)' },
  cloudTasksMaxDispatchesPerQueue: { value: 500, source: 'https://cloud.google.com/tasks/docs/quotas (maxDispatchesPerSecond, per queue)' },
} as const;

/**
 * Traffic is not flat: the busiest minute of a day carries this many times the day's average
 * rate (mail and calendar changes come in working hours, and in bursts). An ASSUMPTION,
 * applied to changes; polls, renewals and status requests are taken at their average rate.
 */
export const PEAK_TO_AVERAGE = 5;

const CHANGE_UNITS: UnitName[] = ['mail', 'calendar', 'archive'];
const SECONDS_PER_DAY = 86_400;

export interface Capacity {
  name: string;
  maxInstances: number;
  concurrency: number;
}

export interface Binding {
  limit: string;
  /** The limit, and one account's demand at the peak in the same unit. */
  limitValue: number;
  demandPerAccount: number;
  /** Accounts at which the demand reaches the limit (Infinity: no demand). */
  accounts: number;
  lift: string;
}

/** One account's peak rate per second of something each unit causes `per(unit)` of. */
export function peakPerSecond(units: Partial<Record<UnitName, number>>, per: (name: UnitName) => number, profile: Profile, schedule: Schedule): number {
  const { units: monthly } = unitsPerAccountMonth(profile, schedule, Number.POSITIVE_INFINITY);
  let total = 0;
  for (const name of Object.keys(units) as UnitName[]) {
    if (name === 'jobRun') continue;
    const perDay = monthly[name] / 30;
    total += ((perDay * per(name)) / SECONDS_PER_DAY) * (CHANGE_UNITS.includes(name) ? PEAK_TO_AVERAGE : 1);
  }
  return total;
}

const bind = (limit: string, limitValue: number, demandPerAccount: number, lift: string): Binding => ({
  limit,
  limitValue,
  demandPerAccount,
  accounts: demandPerAccount > 0 ? limitValue / demandPerAccount : Number.POSITIVE_INFINITY,
  lift,
});

export function whatRunsOutFirst(input: {
  units: Record<UnitName, Unit>;
  google: Partial<Record<UnitName, GoogleUse>>;
  profile: Profile;
  schedule: Schedule;
  capacities: Capacity[];
  followUpDispatchesPerSecond: number;
  followUpMaxConcurrentDispatches: number;
  /** Writes to a source document per lone change (the lease's record and the step's end). */
  sourceWritesPerLoneChange: number;
}): Binding[] {
  const { units, google, profile, schedule } = input;
  const present = Object.fromEntries(Object.keys(units).map((k) => [k, 1])) as Partial<Record<UnitName, number>>;
  const rate = (per: (name: UnitName) => number) => peakPerSecond(present, per, profile, schedule);
  const rows: Binding[] = [
    bind('Gmail quota units per minute per project', LIMITS.gmailUnitsPerMinutePerProject.value, rate((n) => google[n]?.gmailUnits ?? 0) * 60, 'ask Google for more per-project quota; an older project keeps the cheaper messages.get (5 units)'),
    bind('Calendar requests per minute per project', LIMITS.calendarRequestsPerMinutePerProject.value, rate((n) => google[n]?.calendarRequests ?? 0) * 60, 'ask Google for more quota; poll Calendar less often (polls make most Calendar requests)'),
    bind(
      `Cloud Tasks dispatches per second (gmail-follow-ups queue, set to ${input.followUpDispatchesPerSecond})`,
      input.followUpDispatchesPerSecond,
      rate((n) => units[n].functions.gmailFollowUp?.invocations ?? 0),
      `raise the queue's maxDispatchesPerSecond (up to ${LIMITS.cloudTasksMaxDispatchesPerQueue.value}), then shard sources over several queues`,
    ),
    bind(
      `Cloud Tasks dispatches in flight (gmail-follow-ups queue, set to ${input.followUpMaxConcurrentDispatches})`,
      input.followUpMaxConcurrentDispatches,
      rate((n) => units[n].functions.gmailFollowUp?.requestSeconds ?? 0),
      "raise the queue's maxConcurrentDispatches (gmailFollowUp serves 80 at once)",
    ),
  ];
  for (const c of input.capacities) {
    const slots = c.maxInstances * c.concurrency;
    rows.push(bind(`${c.name}: ${c.maxInstances} instances × ${c.concurrency} requests at once`, slots, rate((n) => units[n].functions[c.name]?.requestSeconds ?? 0), 'raise maxInstances in the manifest (the instances quota per region is the next ceiling)'));
  }
  // Per document, not per project: it binds for one busy account, never by their number.
  const perDoc = LIMITS.firestoreWritesPerSecondPerDocument.value;
  const oneAccount = rate((n) => (CHANGE_UNITS.includes(n) ? input.sourceWritesPerLoneChange : 0));
  rows.push({
    limit: `Firestore writes per second to one source document (${perDoc}, sustained)`,
    limitValue: perDoc,
    demandPerAccount: oneAccount,
    accounts: Number.POSITIVE_INFINITY,
    lift: `per account, not by their number: one account's peak uses ${((100 * oneAccount) / perDoc).toFixed(2)} % of it; a burst coalesces into one run`,
  });
  return rows.sort((a, b) => a.accounts - b.accounts);
}

export function limitsTable(rows: Binding[]): string {
  const n = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'never');
  const d = (x: number) => (x >= 1 ? x.toFixed(1) : x.toPrecision(2));
  return [
    '| limit | value | one account at the peak | binds at (accounts) | what lifts it |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.limit} | ${n(r.limitValue)} | ${d(r.demandPerAccount)} | ${n(r.accounts)} | ${r.lift} |`),
  ].join('\n');
}
