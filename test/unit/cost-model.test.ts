import { auditParts, costPerAccount, loggedBytes, pollsPerDay, pubsubBilledBytes, unitCost, unitOf, type Profile, type Schedule, type Unit, type UnitName } from '../../scripts/bench/cost-model';
import { emptyUsage } from '../../scripts/bench/usage';
import { runsPerDay } from '../../scripts/bench/cost-report';
import { peakPerSecond, whatRunsOutFirst } from '../../scripts/bench/limits';

// Every expected figure below was worked out by hand from the list prices in
// scripts/bench/prices.ts (nam5 Firestore, Cloud Run Tier 1 request-based).

const zero: Unit = { firestoreReads: 0, firestoreWrites: 0, firestoreDeletes: 0, functions: {}, pubsubRequests: 0, pubsubBilledBytes: 0, cloudTasksOps: 0, kmsDecrypts: 0, logBytes: 0 };
const schedule: Schedule = {
  fallbackAfterMinutes: 10,
  pollJobEveryMinutes: 2,
  renewEveryDays: 6,
  auditsPerDay: 1,
  auditMaxItems: 200,
  jobRunsPerDay: 746,
  schedulerJobs: 4,
  secretAccessesPerDay: 576,
  kmsKeyVersions: 1,
  secretVersions: 1,
};
const sizes = { syncWorker: { vcpu: 1, gib: 0.5 }, fallbackPoll: { vcpu: 0.333, gib: 0.5 } };

describe('polls a day', () => {
  it('polls a source that never gets a push once per threshold plus half the job period', () => {
    // 1440 min / (10 + 2/2) min
    expect(pollsPerDay(0, { fallbackAfterMinutes: 10, pollJobEveryMinutes: 2 })).toBeCloseTo(130.909, 3);
  });

  it('polls only the quiet spells of a source with Poisson pushes', () => {
    // 144 pushes a day = 0.1/min, quiet spell 10 min: e^-1 = 0.367879; 144 × 0.367879 / 0.632121 = 83.805
    expect(pollsPerDay(144, { fallbackAfterMinutes: 9, pollJobEveryMinutes: 2 })).toBeCloseTo(83.805, 2);
  });
});

describe('a unit of work priced line by line', () => {
  it('prices each resource at its list price', () => {
    const unit: Unit = {
      firestoreReads: 100_000,
      firestoreWrites: 100_000,
      firestoreDeletes: 100_000,
      functions: { syncWorker: { invocations: 1_000_000, billableSeconds: 1000, requestSeconds: 1000 } },
      pubsubRequests: 1,
      pubsubBilledBytes: 2 ** 40,
      cloudTasksOps: 1_000_000,
      kmsDecrypts: 10_000,
      logBytes: 2 ** 30,
    };
    const lines = unitCost(unit, 1, sizes);
    expect(lines['firestore reads']).toBeCloseTo(0.06, 10);
    expect(lines['firestore writes']).toBeCloseTo(0.18, 10);
    expect(lines['firestore deletes (TTL included)']).toBeCloseTo(0.02, 10);
    expect(lines['functions requests']).toBeCloseTo(0.4, 10);
    // 1000 s × 1 vCPU × 0.000024; 1000 s × 0.5 GiB × 0.0000025
    expect(lines['functions CPU']).toBeCloseTo(0.024, 10);
    expect(lines['functions memory']).toBeCloseTo(0.00125, 10);
    expect(lines['Pub/Sub']).toBeCloseTo(40, 10);
    expect(lines['Cloud Tasks']).toBeCloseTo(0.4, 10);
    expect(lines.KMS).toBeCloseTo(0.03, 10);
    expect(lines['Cloud Logging']).toBeCloseTo(0.5, 10);
  });

  it('refuses a function with no deployed size rather than pricing it at nothing', () => {
    expect(() => unitCost({ ...zero, functions: { unknown: { invocations: 1, billableSeconds: 1, requestSeconds: 1 } } }, 1, sizes)).toThrow(/unknown/);
  });
});

describe('cost per account', () => {
  const profile: Profile = { mailsPerDay: 100, calendarChangesPerDay: 0, archivesPerDay: 0, statusRequestsPerDay: 0 };
  const units = (mail: Unit): Record<UnitName, Unit> => ({ mail, calendar: zero, archive: zero, poll: zero, renewal: zero, auditBase: zero, auditPerItem: zero, status: zero, jobRun: zero });

  it('adds the per-change lines and the project fixed costs shared by the accounts', () => {
    const breakdown = costPerAccount(units({ ...zero, firestoreWrites: 1 }), profile, schedule, sizes, 1000);
    // 100 mails × 30 days × 1 write × 0.18 / 100,000
    expect(breakdown.perAccountMonth['firestore writes']).toBeCloseTo(0.0054, 10);
    // 4 jobs × 0.10 / 1000 accounts
    expect(breakdown.perAccountMonth['Cloud Scheduler']).toBeCloseTo(0.0004, 10);
    // one key version 0.06 / 1000
    expect(breakdown.perAccountMonth.KMS).toBeCloseTo(0.00006, 10);
    // (one version 0.06 + 576 × 30 accesses × 0.03 / 10,000) / 1000
    expect(breakdown.perAccountMonth['Secret Manager']).toBeCloseTo(0.00011184, 10);
    expect(breakdown.totalPerAccountMonth).toBeCloseTo(0.00597184, 10);
    expect(breakdown.per1000AccountsMonth).toBeCloseTo(5.97184, 6);
    expect(breakdown.unitsPerAccountMonth.mail).toBe(3000);
    expect(breakdown.unitsPerAccountMonth.renewal).toBeCloseTo(5, 10);
    // an audit a day over min(200, 100 changes)
    expect(breakdown.unitsPerAccountMonth.auditPerItem).toBe(3000);
    expect(breakdown.unitsPerAccountMonth.jobRun).toBeCloseTo(22.38, 10);
  });
});

describe('a unit from what the bench counted', () => {
  it('divides by the units and bills Pub/Sub and logs as Google does', () => {
    const usage = {
      ...emptyUsage(),
      functions: {
        gmailPush: { invocations: 10, billableMs: 2000, requestMs: 2500, bodyBytes: 4000 },
        gmailFollowUp: { invocations: 7, billableMs: 700, requestMs: 700, bodyBytes: 0 },
      },
      cloudTasksCreates: 7,
      kmsDecrypts: 2,
      logLines: 30,
      logBytes: 6000,
      requestLogLines: 17,
      requestLogBytes: 1700,
    };
    const unit = unitOf({ reads: 20, writes: 35, deletes: 5, ttlWrites: 3, usage }, 10);
    expect(unit.firestoreReads).toBe(2);
    expect(unit.firestoreWrites).toBe(3);
    expect(unit.firestoreDeletes).toBeCloseTo(0.8, 10);
    expect(unit.functions.gmailPush).toEqual({ invocations: 1, billableSeconds: 0.2, requestSeconds: 0.25 });
    expect(unit.functions.gmailFollowUp!.invocations).toBeCloseTo(0.7, 10);
    expect(unit.functions.gmailFollowUp!.billableSeconds).toBeCloseTo(0.07, 10);
    // 10 deliveries of 400 bytes and Gmail's 10 publishes, each billed 1,000 bytes
    expect(unit.pubsubRequests).toBe(2);
    expect(unit.pubsubBilledBytes).toBe(2000);
    // 7 creates + 7 deliveries
    expect(unit.cloudTasksOps).toBeCloseTo(1.4, 10);
    expect(unit.kmsDecrypts).toBeCloseTo(0.2, 10);
    // 6000 + 30 × 600 + 1700 + 17 × (600 + 300) = 41,000 over 10
    expect(unit.logBytes).toBe(4100);
  });

  it("adds a scheduled job's fan-out (its query result and its publish) when the bench published for it", () => {
    const unit = unitOf({ reads: 20, writes: 20, deletes: 0, ttlWrites: 0, usage: { ...emptyUsage(), functions: { syncWorker: { invocations: 10, billableMs: 1000, requestMs: 1000, bodyBytes: 3000 } } } }, 10, true);
    expect(unit.firestoreReads).toBe(3);
    // a delivery and the job's publish, 1,000 bytes each
    expect(unit.pubsubRequests).toBe(2);
    expect(unit.pubsubBilledBytes).toBe(2000);
  });

  it('bills a large Pub/Sub message at its size and a small one at 1,000 bytes', () => {
    expect(pubsubBilledBytes(3, 1500)).toBe(4500);
    expect(pubsubBilledBytes(3, 10)).toBe(3000);
    expect(loggedBytes({ lines: 1, bytes: 100, requestLines: 0, requestBytes: 0 })).toBe(700);
  });

  it('splits audits into a part per audit and a part per change in the window', () => {
    const { base, perItem } = auditParts({ unit: { ...zero, firestoreReads: 4 }, items: 2 }, { unit: { ...zero, firestoreReads: 8 }, items: 6 });
    expect(perItem.firestoreReads).toBe(1);
    expect(base.firestoreReads).toBe(2);
  });
});

describe('scheduled runs a day', () => {
  it('reads the cron forms the manifest uses', () => {
    expect(runsPerDay('*/2 * * * *')).toBe(720);
    expect(runsPerDay('0 * * * *')).toBe(24);
    expect(runsPerDay('15 4 * * *')).toBe(1);
  });
});

describe('what runs out first', () => {
  // 8,640 mails a day: 0.1 a second on average, 0.5 at the peak (5×); so many pushes that no poll is due (e^-66).
  const profile: Profile = { mailsPerDay: 8640, calendarChangesPerDay: 0, archivesPerDay: 0, statusRequestsPerDay: 0 };
  const mail: Unit = { ...zero, firestoreWrites: 3, functions: { gmailPush: { invocations: 1, billableSeconds: 0.2, requestSeconds: 0.2 }, gmailFollowUp: { invocations: 1, billableSeconds: 0.1, requestSeconds: 0.1 } } };
  const units: Record<UnitName, Unit> = { mail, calendar: zero, archive: zero, poll: zero, renewal: zero, auditBase: zero, auditPerItem: zero, status: zero, jobRun: zero };

  it('finds the accounts at which each limit binds, the first first', () => {
    const rows = whatRunsOutFirst({
      units,
      google: { mail: { gmailUnits: 20, calendarRequests: 0 } },
      profile,
      schedule,
      capacities: [{ name: 'gmailPush', maxInstances: 20, concurrency: 8 }],
      followUpDispatchesPerSecond: 50,
      followUpMaxConcurrentDispatches: 20,
      sourceWritesPerLoneChange: 2,
    });
    const accounts: Record<string, number> = Object.fromEntries(rows.map((r) => [r.limit.split(' ')[0]!, Math.round(r.accounts)]));
    // 50 dispatches/s over 0.5 follow-ups/s per account
    expect(rows[0]!.accounts).toBeCloseTo(100, 6);
    // 20 in flight over 0.5/s × 0.1 s
    expect(rows.find((r) => r.limit.includes('in flight'))!.accounts).toBeCloseTo(400, 6);
    // 160 slots over 0.5/s × 0.2 s
    expect(accounts['gmailPush:']).toBe(1600);
    // 1,200,000 units/min over 0.5/s × 20 units × 60
    expect(accounts.Gmail).toBe(2000);
    expect(rows[0]!.limit).toMatch(/^Cloud Tasks/);
    // per document: one account's peak writes 0.5/s × 2 = 1 write/s, all of the limit; never by the number of accounts
    const doc = rows.find((r) => r.limit.startsWith('Firestore'))!;
    expect(doc.demandPerAccount).toBeCloseTo(1, 6);
    expect(doc.accounts).toBe(Number.POSITIVE_INFINITY);
  });

  it('counts polls and renewals at their average rate and changes at the peak', () => {
    const perSecond = peakPerSecond({ mail: 1, renewal: 1 }, () => 1, profile, schedule);
    // 0.1/s × 5 + 1/6 a day / 86,400
    expect(perSecond).toBeCloseTo(0.5 + 1 / 6 / 86_400, 9);
  });
});
