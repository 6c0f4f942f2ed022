/**
 * `npm run bench`: the engine on the local stack under a workload of many sources with steady
 * mail and calendar traffic plus bursts, against two simple strategies run in the same
 * process on the same workload, and against the floor that the injected Google latency and
 * the emulators' round trips make unavoidable. Figures, not assertions.
 *
 * The functions run in two host processes behind a round-robin front, as two instances.
 *
 *   npm run bench                    200 sources, 90 s of traffic per strategy
 *   npm run bench -- --quick         10 sources, 8 s of traffic per strategy
 *   npm run bench -- --sources 50 --duration 30 --latency 50 --seed 7 --rate 5
 *   npm run bench -- --strategies engine,engine_lag   the engine with read-after-push lag off
 *                                    and on, side by side (`--lag <ms>` sets the lag, default 3000)
 *   npm run bench -- --strategies engine --sources 1000   the scale run
 *   npm run bench -- --strategies engine --calendars 3     every source syncs its owned
 *                                    calendars (the primary one and 2 more), events spread over them;
 *                                    not with per_notification, which syncs the primary one only
 *
 * After its workload, the `engine` strategy runs the cost phase (scripts/bench/cost-phase.ts;
 * `--no-cost` skips it) and the bench prices it with the cost model (scripts/bench/cost-model.ts).
 * Its stack renews watches with less than 200 h left and audits changes of any age, so that
 * the phase's renewal and audit requests do their whole work; nothing else reads those two
 * settings, and the scheduled jobs are off.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Firestore } from '@google-cloud/firestore';
import { registerWatches } from '../functions/src/engine/account/watches';
import { createFirestore } from '../functions/src/store/firestore';
import { newSource } from '../functions/src/engine/account/connect';
import { EMPTY_CALENDAR_STATE, withOtherCalendars } from '../functions/src/engine/calendar/state';
import { taskIdFor, type SourceData } from '../functions/src/engine/model';
import { latencyChart } from './bench/chart';
import { coldToFirstTask } from './bench/cold-first-task';
import { distribution, floorOf, googleCost, perNotification, round, slowest, unitsFloorPerMessage, type Distribution, type Expectation, type Seen } from './bench/figures';
import { countFirestoreDeletes, countFirestoreOps } from './bench/firestore-ops';
import { idleProbe, runCostPhase, settleStack, type CostPhaseResult, type Delivered } from './bench/cost-phase';
import { countPublished, type Backlog } from './bench/idle';
import { ACCOUNTS, costTable, deployedSchedule, limitsUnderProfile, priceCost, PROFILE, unitTable } from './bench/cost-report';
import { limitsTable, PEAK_TO_AVERAGE } from './bench/limits';
import { PRICES } from './bench/prices';
import { LAG_COUNTS, lagMismatch, lagUnmet, passLag, type PassLag } from './bench/read-lag';
import { buildManifest } from './deploy/manifest';
import { percentile } from './lib/demo';
import { startLocalStack, type LocalStack } from './lib/local-stack';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sources: { type: 'string' },
    duration: { type: 'string' },
    latency: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    rate: { type: 'string' },
    strategies: { type: 'string', default: 'engine,engine_lag,engine_default_rate,per_notification,polling' },
    env: { type: 'string', multiple: true, default: [] },
    lag: { type: 'string', default: '3000' },
    calendars: { type: 'string', default: '1' },
    'no-cost': { type: 'boolean', default: false },
  },
});
/** Extra engine settings, e.g. --env GMAIL_UNITS_PER_MINUTE=15000 */
const EXTRA_ENV = Object.fromEntries(flags.env.map((pair) => pair.split('=') as [string, string]));
const SOURCES = Number(flags.sources ?? (flags.quick ? 10 : 200));
const DURATION_MS = Number(flags.duration ?? (flags.quick ? 8 : 90)) * 1000;
/**
 * Per-account Google requests per second for the engine's limiter. The shipped default is
 * the plan's 1/s (`engine_default_rate` runs it); the other strategies run at a raised 5/s,
 * so that bursts measure the strategy, not the throttle.
 */
const RAISED_RATE = flags.rate ?? '5';
const DEFAULT_RATE = '1';
const LATENCY_MS = Number(flags.latency);
/**
 * Read-after-push lag (the sandbox's fault) of the `engine_lag` strategy: every Gmail and
 * Calendar change readable a random 0..LAG_MS after its push, Gmail's history id running ahead
 * of its records. Every other strategy runs without lag.
 */
const LAG_MS = Number(flags.lag);
if (!Number.isInteger(LAG_MS) || LAG_MS <= 0) throw new Error(`--lag takes a whole number of milliseconds above 0, not '${flags.lag}'`);
/** Calendars each source syncs: above 1, the selection is `owned` with this many owned calendars. */
const CALENDARS = Number(flags.calendars);
/** Each source's calendars besides the primary one, by source index. */
const extraCalendars = new Map<number, string[]>();
if (!Number.isInteger(CALENDARS) || CALENDARS < 1) throw new Error(`--calendars must be a whole number from 1 (got ${flags.calendars})`);
if (CALENDARS > 1 && flags.strategies.split(',').includes('per_notification')) {
  throw new Error('--calendars above 1: leave per_notification out of --strategies (it syncs the primary calendar only)');
}
const POLL_INTERVAL_MS = flags.quick ? 10_000 : 120_000;
const MAIL_PER_S = flags.quick ? 2 : 4;
const EVENTS_PER_S = flags.quick ? 0.5 : 1;
const BURST_EVERY_MS = flags.quick ? 7_000 : 15_000;
const HOST_PROCESSES = 2;
/** Sources belong to this many users, round robin. */
const USERS = 50;
const COST_PHASE = !flags['no-cost'];
const COST_PHASE_ENV = { RENEW_BEFORE_HOURS: '200', AUDIT_GRACE_SECONDS: '0' };
const OUT_DIR = 'bench-results';

let seed = Number(flags.seed);
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started = Date.now();
const progress = (line: string) => process.stdout.write(`\r[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line.padEnd(90)}`);

type StrategyName = 'engine' | 'engine_lag' | 'engine_default_rate' | 'per_notification' | 'polling';
type FloorParts = { pubsub_push_ms: number; google_call_ms: number; firestore_write_ms: number };

interface Figures {
  rate_limit_per_s: number;
  freshness_ms: { all: Distribution; announced: Distribution; tails: Distribution; calendar: Distribution };
  items: number;
  missing: number;
  new_messages: number;
  gmail_units_per_new_message: number;
  gmail_units_floor_per_new_message: number;
  gmail_http_requests_per_new_message: number;
  google_http_requests_per_item: number;
  history_lists_per_notification: number | null;
  /** Live Calendar channels (each synced calendar's and the calendar list's) per source. */
  calendar_channels_per_source: number;
  calendar_requests_per_calendar_change: number | null;
  gmail_http_requests_per_notification: number | null;
  lease_contention: number | null;
  firestore_reads_per_item: number;
  firestore_writes_per_item: number;
  /** Deletes, TTL deletes to come included. */
  firestore_deletes_per_item: number;
  invocations_per_item: number;
  log_lines_per_item: number;
  log_bytes_per_item: number;
  read_lag: ReadLagFigures;
  /** From the last source connected until the engine was idle, before the workload began. */
  settle_after_connecting: { ms: number; idle: boolean };
  /** With the cost phase: the wait after the drain until the engine was idle, before the phase began. */
  settle_after_drain?: SettleAfterDrain;
  cost?: CostPhaseResult;
}

interface SettleAfterDrain {
  ms: number;
  idle: boolean;
  /** What was queued or under way when the drain ended. */
  backlog_at_drain: Backlog;
  /** Of the changes missing when the drain ended, visible once the engine was idle: late, not lost. */
  missing_visible_once_idle: number;
  missing_still: number;
}

/** The strategy's read-after-push lag, what the sandbox delayed, and what the engine's passes did about it. */
interface ReadLagFigures {
  max_ms: number | null;
  sandbox_delayed: { gmail: number; calendar: number };
  passes: PassLag;
  /** Set when no pass met the lag (read-lag.ts: lagUnmet). */
  unmet: string | null;
}

async function setUpSources(stack: LocalStack): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < SOURCES; start += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, SOURCES - start) }, async (_, k) => {
        const i = start + k;
        const email = `bench${i}@example.com`;
        const id = `bench-${i}`;
        const { refreshToken } = await stack.admin.createAccount(email);
        await stack.services.sources.create(id, await benchSource(stack, i, email));
        await stack.services.vault.store(id, refreshToken);
        await registerWatches(stack.services.watchDeps, id);
        ids.push(id);
      }),
    );
    progress(`connected ${Math.min(start + 10, SOURCES)}/${SOURCES} sources`);
  }
  return ids;
}

/** A new source; with several calendars, one syncing every calendar it owns, created here. */
async function benchSource(stack: LocalStack, i: number, email: string): Promise<SourceData> {
  const source = newSource(`user-${i % USERS}`, email, stack.services.clock.now());
  if (CALENDARS <= 1) return source;
  const others: string[] = [];
  for (let k = 1; k < CALENDARS; k += 1) others.push((await stack.admin.createCalendar(email, `bench calendar ${k}`)).id);
  extraCalendars.set(i, others);
  const owned = { calendarSelection: 'owned' as const, calendarListChannel: null };
  return { ...source, ...owned, ...withOtherCalendars(Object.fromEntries(others.map((id) => [id, EMPTY_CALENDAR_STATE])), owned) };
}

function watchTasks(db: Firestore, expected: Map<string, Expectation>, seen: Seen[], parts: FloorParts): () => void {
  return db.collectionGroup('tasks').onSnapshot((snapshot) => {
    const now = Date.now();
    for (const change of snapshot.docChanges()) {
      const expectation = expected.get(change.doc.id);
      if (!expectation) continue;
      expected.delete(change.doc.id);
      seen.push({ kind: expectation.kind, taskId: change.doc.id, changedAt: expectation.changedAt, latencyMs: now - expectation.changedAt, missing: false, floorMs: floorOf(expectation, parts) });
    }
  });
}

interface Workload {
  changes: number;
  newMessages: number;
  calendarChanges: number;
  announced: number;
  /** Changes per source (index), and the mails delivered, for the cost phase. */
  perSource: number[];
  delivered: Delivered[];
}

async function runWorkload(stack: LocalStack, ids: string[], expected: Map<string, Expectation>): Promise<Workload> {
  const end = Date.now() + DURATION_MS;
  const load: Workload = { changes: 0, newMessages: 0, calendarChanges: 0, announced: 0, perSource: ids.map(() => 0), delivered: [] };
  let nextBurst = Date.now() + 2000;
  const inFlight: Promise<unknown>[] = [];
  const mail = (i: number, subject: string) => {
    const changedAt = Date.now();
    load.newMessages += 1;
    load.perSource[i] = (load.perSource[i] ?? 0) + 1;
    return stack.admin.deliverMail(`bench${i}@example.com`, { subject }).then((m) => {
      if (m.announced) load.announced += 1;
      load.delivered.push({ source: i, messageId: m.id });
      expected.set(`bench-${i}:gmail:${m.id}`, { kind: m.announced ? 'announced' : 'tail', changedAt, notifiableAt: m.notifiableAt });
    });
  };
  while (Date.now() < end) {
    const tickStart = Date.now();
    if (random() < MAIL_PER_S / 10) {
      load.changes += 1;
      inFlight.push(mail(Math.floor(random() * ids.length), `steady ${load.changes}`));
    }
    if (random() < EVENTS_PER_S / 10) {
      load.changes += 1;
      load.calendarChanges += 1;
      const i = Math.floor(random() * ids.length);
      load.perSource[i] = (load.perSource[i] ?? 0) + 1;
      const start = new Date(Date.now() + 86_400_000 * (1 + Math.floor(random() * 5)));
      const changedAt = Date.now();
      const others = extraCalendars.get(i) ?? [];
      const k = others.length === 0 ? 0 : Math.floor(random() * (others.length + 1));
      const calendarId = k === 0 ? undefined : others[k - 1];
      inFlight.push(
        stack.admin
          .createEvent(`bench${i}@example.com`, { summary: `event ${load.changes}`, start: { dateTime: start.toISOString() }, end: { dateTime: new Date(start.getTime() + 1_800_000).toISOString() }, ...(calendarId !== undefined && { calendarId }) })
          .then((e) => expected.set(taskIdFor(`bench-${i}`, 'calendar', e.id, calendarId), { kind: 'calendar', changedAt, notifiableAt: null })),
      );
    }
    if (Date.now() >= nextBurst) {
      // 20 messages to one mailbox within a second.
      nextBurst += BURST_EVERY_MS;
      const i = Math.floor(random() * ids.length);
      for (let b = 0; b < 20; b += 1) {
        load.changes += 1;
        inFlight.push(mail(i, `burst ${load.changes}`));
        await sleep(45);
      }
    }
    progress(`workload: ${load.changes} changes, ${expected.size} not yet visible`);
    await sleep(Math.max(0, 100 - (Date.now() - tickStart)));
  }
  await Promise.all(inFlight);
  return load;
}

/**
 * Waits until the engine has worked through what the workload left queued (idle.ts), then
 * looks up each change that was missing when the drain ended: late or lost.
 */
async function settleAfterDrain(probe: Parameters<typeof settleStack>[0], db: Firestore, missing: string[]): Promise<SettleAfterDrain> {
  progress(`engine: the drain ended with ${missing.length} changes missing; waiting until the engine is idle`);
  const settle = await settleStack(probe);
  const userOf = (taskId: string) => `user-${Number(/^bench-(\d+):/.exec(taskId)![1]) % USERS}`;
  const found = await Promise.all(missing.map((taskId) => db.doc(`users/${userOf(taskId)}/tasks/${taskId}`).get()));
  const visible = found.filter((d) => d.exists).length;
  return { ms: settle.ms, idle: settle.idle, backlog_at_drain: settle.first, missing_visible_once_idle: visible, missing_still: missing.length - visible };
}

async function runStrategy(name: StrategyName, parts: FloorParts): Promise<{ figures: Figures; latencies: number[] }> {
  mkdirSync(OUT_DIR, { recursive: true });
  const rate = name === 'engine_default_rate' ? DEFAULT_RATE : RAISED_RATE;
  const lagMaxMs = name === 'engine_lag' ? LAG_MS : null;
  const logFile = join(OUT_DIR, `functions-${name}.log`);
  // The hosts append: this run's passes alone are counted.
  rmSync(logFile, { force: true });
  const stack = await startLocalStack({
    projectId: `demo-bench-${name.replaceAll('_', '-')}`,
    scheduler: false,
    logFile,
    sandboxSeed: Number(flags.seed),
    env: { RATE_LIMIT_PER_SECOND: rate, ...(name === 'engine' && COST_PHASE && COST_PHASE_ENV), ...EXTRA_ENV },
    hostProcesses: HOST_PROCESSES,
    processRunner: name === 'per_notification' ? 'per_notification' : 'engine',
  });
  try {
    progress(`${name}: connecting ${SOURCES} sources`);
    const probe = idleProbe(stack, countPublished(stack.services.publisher));
    const ids = await setUpSources(stack);
    // Connecting registers every source's watches (each Calendar channel's first push): the
    // workload starts once that is done, so that its freshness holds its own changes only.
    progress(`${name}: waiting until the engine is idle after connecting`);
    const setupSettle = await settleStack(probe);
    await stack.admin.setFaults({ latencyMs: LATENCY_MS, ...(name === 'polling' && { push: { dropRate: 1 } }) });
    if (lagMaxMs !== null) {
      await stack.admin.setLag({ api: 'gmail', maxMs: lagMaxMs, historyId: 'ahead' });
      await stack.admin.setLag({ api: 'calendar', maxMs: lagMaxMs });
    }
    await stack.admin.resetStats();
    await stack.hostStats(true);
    const logFrom = existsSync(logFile) ? statSync(logFile).size : 0;
    // The polls run in this process: its Firestore client counts too.
    const pollOps = countFirestoreOps(stack.services.db);
    const pollDeletes = countFirestoreDeletes(stack.services.db, buildManifest().ttl.map((t) => t.collection));
    const db = createFirestore(stack.projectId);
    const expected = new Map<string, Expectation>();
    const seen: Seen[] = [];
    const unsubscribe = watchTasks(db, expected, seen, parts);

    let polling = true;
    const pollLoop = (async () => {
      if (name !== 'polling') return;
      while (polling) {
        await sleep(POLL_INTERVAL_MS);
        if (!polling) return;
        await Promise.all(ids.map((id) => stack.services.runner.handle(id, { gmail: null, calendar: true }, { trigger: 'poll', checkGmail: true }).catch(() => 'failed')));
      }
    })();

    const load = await runWorkload(stack, ids, expected);
    // Time for the last changes to land; a change still missing counts with the whole wait.
    const grace = flags.quick ? 10_000 : 30_000;
    const drainUntil = Date.now() + (name === 'polling' ? POLL_INTERVAL_MS + grace : grace);
    while (expected.size > 0 && Date.now() < drainUntil) {
      progress(`${name}: ${load.changes} changes made, waiting for ${expected.size}`);
      await sleep(250);
    }
    polling = false;
    unsubscribe();
    const drainedAt = Date.now();
    for (const [taskId, expectation] of expected) {
      seen.push({ kind: expectation.kind, taskId, changedAt: expectation.changedAt, latencyMs: drainedAt - expectation.changedAt, missing: true, floorMs: floorOf(expectation, parts) });
    }
    writeFileSync(join(OUT_DIR, `slowest-${name}.json`), JSON.stringify(slowest(seen), null, 2));
    const stats = await stack.admin.stats();
    const mismatch = lagMismatch(lagMaxMs, stats.lagged);
    if (mismatch !== null) throw new Error(`${name}: ${mismatch}`);
    const passes = passLag(existsSync(logFile) ? readFileSync(logFile).subarray(logFrom).toString('utf8') : '');
    const readLag = { max_ms: lagMaxMs, sandbox_delayed: { ...stats.lagged }, passes, unmet: lagUnmet(lagMaxMs, passes) };
    const cost = googleCost(stats.calls);
    const channels = (await stack.admin.channels()).channels.filter((c) => /^bench\d+@/.test(c.email) && Number(c.expiration) > Date.now());
    const hosts = await stack.hostStats();
    const outcomes = hosts.outcomes;
    const triggers = Object.values(outcomes).reduce((a, b) => a + b, 0);
    const items = seen.filter((s) => !s.missing).length;
    await pollLoop;
    const perItem = (n: number) => round(n / Math.max(1, items));
    const usage = hosts.usage;
    const missingTasks = new Set(seen.filter((s) => s.missing).map((s) => s.taskId));
    const withCost = name === 'engine' && COST_PHASE;
    const settled = withCost ? await settleAfterDrain(probe, db, [...missingTasks]) : undefined;
    await db.terminate();
    const costPhase =
      withCost
        ? await runCostPhase({
            stack,
            sourceCount: ids.length,
            delivered: load.delivered.filter((d) => !missingTasks.has(`bench-${d.source}:gmail:${d.messageId}`)),
            changesPerSource: load.perSource,
            users: Math.min(USERS, ids.length),
            seconds: flags.quick ? 6 : 20,
            sample: flags.quick ? 10 : 100,
            random,
            progress,
            probe,
          })
        : undefined;
    const of = (kind?: Seen['kind']) => distribution(kind ? seen.filter((s) => s.kind === kind) : seen);
    return {
      latencies: seen.map((s) => s.latencyMs),
      figures: {
        rate_limit_per_s: Number(rate),
        freshness_ms: { all: of(), announced: of('announced'), tails: of('tail'), calendar: of('calendar') },
        items,
        missing: expected.size,
        new_messages: load.newMessages,
        gmail_units_per_new_message: round(cost.gmailUnits / Math.max(1, load.newMessages)),
        gmail_units_floor_per_new_message: unitsFloorPerMessage(load.newMessages, load.announced),
        gmail_http_requests_per_new_message: round(cost.gmailHttpRequests / Math.max(1, load.newMessages)),
        google_http_requests_per_item: round(cost.httpRequests / Math.max(1, items)),
        history_lists_per_notification: perNotification(cost.historyLists, load.announced, name !== 'polling'),
        gmail_http_requests_per_notification: perNotification(cost.gmailHttpRequests, load.announced, name !== 'polling'),
        calendar_channels_per_source: round(channels.length / Math.max(1, ids.length)),
        calendar_requests_per_calendar_change: load.calendarChanges === 0 ? null : round(cost.calendarHttpRequests / load.calendarChanges),
        lease_contention: name.startsWith('engine') && triggers > 0 ? round((outcomes.recorded ?? 0) / triggers) : null,
        firestore_reads_per_item: round((hosts.reads + pollOps.reads) / Math.max(1, items)),
        firestore_writes_per_item: round((hosts.writes + pollOps.writes) / Math.max(1, items)),
        firestore_deletes_per_item: perItem(hosts.deletes + hosts.ttlWrites + pollDeletes.deletes + pollDeletes.ttlWrites),
        invocations_per_item: perItem(Object.values(usage.functions).reduce((a, f) => a + f.invocations, 0)),
        log_lines_per_item: perItem(usage.logLines + usage.requestLogLines),
        log_bytes_per_item: perItem(usage.logBytes + usage.requestLogBytes),
        read_lag: readLag,
        settle_after_connecting: { ms: setupSettle.ms, idle: setupSettle.idle },
        ...(settled && { settle_after_drain: settled }),
        ...(costPhase && { cost: costPhase }),
      },
    };
  } finally {
    await stack.stop();
  }
}

const median = (values: number[]) => percentile(values, 50);

/** The unavoidable part of a change's path, measured on this machine, not guessed. */
async function measureFloor(): Promise<{ floor_ms: number; parts: FloorParts; cold_process_to_first_task_ms: number }> {
  const stack = await startLocalStack({ projectId: 'demo-bench-floor', scheduler: false, logFile: join(OUT_DIR, 'functions-floor.log') });
  try {
    const receiver = createServer((req, res) => {
      const arrived = Date.now();
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.writeHead(204).end();
        const sent = Number(JSON.parse(Buffer.from((JSON.parse(body) as { message: { data: string } }).message.data, 'base64').toString()));
        pushTimes.push(arrived - sent);
      });
    });
    const pushTimes: number[] = [];
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as { port: number }).port;
    const host = stack.emulators.pubsubHost;
    const put = (path: string, body: unknown) => fetch(`http://${host}/v1/${path}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    await put('projects/demo-bench-floor/topics/floor', {});
    await put('projects/demo-bench-floor/subscriptions/floor', { topic: 'projects/demo-bench-floor/topics/floor', pushConfig: { pushEndpoint: `http://127.0.0.1:${port}/` } });
    for (let i = 0; i < 15; i += 1) {
      await fetch(`http://${host}/v1/projects/demo-bench-floor/topics/floor:publish`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ messages: [{ data: Buffer.from(String(Date.now())).toString('base64') }] }),
      });
      await sleep(60);
    }
    await sleep(500);
    receiver.close();

    const { refreshToken } = await stack.admin.createAccount('floor@example.com');
    await stack.services.sources.create('floor', newSource('floor-user', 'floor@example.com', new Date()));
    await stack.services.vault.store('floor', refreshToken);
    const source = (await stack.services.sources.get('floor'))!;
    const gmail = await stack.services.google.gmail(source);
    const { historyId } = await gmail.getProfile();
    await stack.admin.setFaults({ latencyMs: LATENCY_MS });
    const callTimes: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const t = Date.now();
      await gmail.listHistory(historyId, null, 100);
      callTimes.push(Date.now() - t);
      await sleep(1000 / stack.config.limiter.ratePerSecond);
    }
    const writeTimes: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      const t = Date.now();
      await stack.services.tasks.upsert('floor-user', [
        { sourceId: 'floor', origin: 'gmail', externalId: `m${i}`, title: 't', dueAt: null, link: null, status: 'open', externalUpdatedAt: new Date(), updatedAt: new Date() },
      ]);
      writeTimes.push(Date.now() - t);
    }
    const parts = { pubsub_push_ms: median(pushTimes), google_call_ms: median(callTimes), firestore_write_ms: median(writeTimes) };
    // A new message: its notification's push, history.list, messages.get, the task write.
    return {
      floor_ms: parts.pubsub_push_ms + 2 * parts.google_call_ms + parts.firestore_write_ms,
      parts,
      cold_process_to_first_task_ms: await coldToFirstTask(stack),
    };
  } finally {
    await stack.stop();
  }
}

function coldStart(): { cold_start_ms: number; cold_start_with_clients_ms: number; cold_start_monolith_ms: number } {
  execFileSync('npm', ['run', 'build'], { stdio: 'ignore' });
  const env = {
    ...process.env,
    GOOGLE_CLOUD_PROJECT: 'demo-cold',
    OAUTH_CLIENT_ID: 'id',
    OAUTH_CLIENT_SECRET: 'secret',
    TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
    CALENDAR_PUSH_URL: 'https://example.com/calendarPush',
    CONNECT_REDIRECT_URL: 'https://example.com/callback',
    CONNECT_RETURN_URL: 'https://example.com/',
    CONNECT_ALLOWED_ORIGINS: 'https://example.com',
  };
  const variants = { entry: '', clients: "require('@googleapis/gmail');require('@googleapis/calendar')", monolith: "require('googleapis')" };
  const runs: Record<keyof typeof variants, number[]> = { entry: [], clients: [], monolith: [] };
  // Interleaved, and in a rotating order, so that a slow spell of the machine or a warm cache
  // weighs on every variant alike.
  const order = Object.entries(variants) as [keyof typeof variants, string][];
  for (let i = 0; i < 7; i += 1) {
    for (const [name, extra] of [...order.slice(i % order.length), ...order.slice(0, i % order.length)]) {
      const script = `const t=process.hrtime.bigint();require('./functions/lib/index.js');${extra};console.log(Number(process.hrtime.bigint()-t)/1e6)`;
      const child = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`cold start (${name}) failed to load the entry:\n${child.stderr}`);
      runs[name].push(Number(child.stdout.trim()));
    }
  }
  return {
    cold_start_ms: round(median(runs.entry)),
    cold_start_with_clients_ms: round(median(runs.clients)),
    cold_start_monolith_ms: round(median(runs.monolith)),
  };
}

function table(results: Partial<Record<StrategyName, Figures>>): string {
  const d = (pick: (f: Figures) => Distribution, field: 'p50' | 'p99') => (f: Figures) => {
    const dist = pick(f);
    return dist.n === 0 ? 'n/a' : `${dist[field]}`;
  };
  const rows: [string, (f: Figures) => string][] = [
    ['limiter rate (requests/s per account)', (f) => String(f.rate_limit_per_s)],
    ['read-after-push lag, Gmail and Calendar (ms)', (f) => (f.read_lag.max_ms === null ? 'off' : `random 0-${f.read_lag.max_ms}`)],
    ['freshness p50, all changes (ms)', d((f) => f.freshness_ms.all, 'p50')],
    ['freshness p99, all changes (ms)', d((f) => f.freshness_ms.all, 'p99')],
    ['announced Gmail: p50 / p99 (ms)', (f) => `${f.freshness_ms.announced.p50} / ${f.freshness_ms.announced.p99}`],
    ['announced Gmail: p99 / its floor', (f) => String(f.freshness_ms.announced.p99_over_floor)],
    ['burst tails (unannounced): p50 / p99 (ms)', (f) => `${f.freshness_ms.tails.p50} / ${f.freshness_ms.tails.p99}`],
    ['burst tails: p99 / their floor', (f) => String(f.freshness_ms.tails.p99_over_floor)],
    ['calendar: p50 / p99 (ms)', (f) => `${f.freshness_ms.calendar.p50} / ${f.freshness_ms.calendar.p99}`],
    ['changes seen (missing after the drain)', (f) => `${f.items} (${f.missing})`],
    ['missing after the drain: announced / tails / calendar', (f) => `${f.freshness_ms.announced.missing} / ${f.freshness_ms.tails.missing} / ${f.freshness_ms.calendar.missing}`],
    ['Gmail quota units per new message (floor)', (f) => `${f.gmail_units_per_new_message} (${f.gmail_units_floor_per_new_message})`],
    ['Gmail HTTP requests per new message', (f) => String(f.gmail_http_requests_per_new_message)],
    ['Google HTTP requests per item', (f) => String(f.google_http_requests_per_item)],
    ['history.list per Gmail notification', (f) => String(f.history_lists_per_notification ?? 'n/a')],
    ['Calendar channels per source', (f) => String(f.calendar_channels_per_source)],
    ['Calendar HTTP requests per calendar change', (f) => String(f.calendar_requests_per_calendar_change ?? 'n/a')],
    ['Gmail HTTP requests per Gmail notification', (f) => String(f.gmail_http_requests_per_notification ?? 'n/a')],
    ['changes the sandbox delayed: Gmail / Calendar', (f) => `${f.read_lag.sandbox_delayed.gmail} / ${f.read_lag.sandbox_delayed.calendar}`],
    ['Gmail passes; lagging listings / 404s held / 404s taken as deleted / resyncs waiting', (f) => lagRow(f.read_lag.passes)],
    ['lease contention', (f) => String(f.lease_contention ?? 'n/a')],
    ['after connecting, until idle (s)', (f) => `${(f.settle_after_connecting.ms / 1000).toFixed(1)}${f.settle_after_connecting.idle ? '' : ' NOT IDLE'}`],
    ['Firestore reads per item', (f) => String(f.firestore_reads_per_item)],
    ['Firestore writes per item', (f) => String(f.firestore_writes_per_item)],
    ['Firestore deletes per item (TTL included)', (f) => String(f.firestore_deletes_per_item)],
    ['function invocations per item', (f) => String(f.invocations_per_item)],
    ['log lines / bytes per item (structured + request log)', (f) => `${f.log_lines_per_item} / ${f.log_bytes_per_item}`],
  ];
  const names = Object.keys(results) as StrategyName[];
  return [
    `| figure | ${names.join(' | ')} |`,
    `|---|${names.map(() => '---').join('|')}|`,
    ...rows.map(([label, get]) => `| ${label} | ${names.map((n) => get(results[n]!)).join(' | ')} |`),
  ].join('\n');
}

function lagRow({ gmailPasses, counts }: PassLag): string {
  return `${gmailPasses}; ${LAG_COUNTS.map((key) => counts[key]).join(' / ')}`;
}

const COLORS: Record<StrategyName, string> = { engine: '#1a73e8', engine_lag: '#d93025', engine_default_rate: '#9334e6', per_notification: '#e8710a', polling: '#188038' };

async function main() {
  console.log(`Benchmark: ${SOURCES} sources, ${DURATION_MS / 1000} s of traffic per strategy, Google latency ${LATENCY_MS} ms, seed ${flags.seed}, ${HOST_PROCESSES} host processes; engine_lag: read-after-push lag up to ${LAG_MS} ms`);
  progress('measuring cold start');
  const cold = coldStart();
  progress('measuring the floor');
  const floor = await measureFloor();
  const results: Partial<Record<StrategyName, Figures>> = {};
  const latencies: Partial<Record<StrategyName, number[]>> = {};
  for (const name of flags.strategies.split(',').filter(Boolean) as StrategyName[]) {
    const run = await runStrategy(name, floor.parts);
    results[name] = run.figures;
    latencies[name] = run.latencies;
  }
  process.stdout.write('\n\n');
  const output = {
    config: {
      sources: SOURCES,
      duration_s: DURATION_MS / 1000,
      google_latency_ms: LATENCY_MS,
      poll_interval_ms: POLL_INTERVAL_MS,
      seed: Number(flags.seed),
      quick: flags.quick,
      host_processes: HOST_PROCESSES,
      raised_rate_per_s: Number(RAISED_RATE),
      default_rate_per_s: Number(DEFAULT_RATE),
      extra_env: EXTRA_ENV,
      read_lag_max_ms: LAG_MS,
      calendars_per_source: CALENDARS,
    },
    floor_ms: floor.floor_ms,
    floor_parts: floor.parts,
    ...cold,
    cold_start_ratio_monolith: round(cold.cold_start_monolith_ms / cold.cold_start_with_clients_ms),
    cold_process_to_first_task_ms: floor.cold_process_to_first_task_ms,
    notes: {
      firestore: "Counted at every Firestore client that serves the functions (both host processes, and this process's polls), scheduled jobs off.",
      missing: 'A change not visible when the drain ends counts in the percentiles with the time it had been missing.',
      tail_floor: "A burst tail's floor: until Gmail could notify the mailbox again, then history.list + metadata + the write.",
      units: 'Gmail quota units charged by the sandbox at the new-project costs (messages.get 20, history.list 2, ...); the floor is one messages.get per new message plus one history.list per notification.',
    },
    results,
  };
  const costPhase = results.engine?.cost;
  const manifest = buildManifest();
  const breakdown = costPhase && priceCost(costPhase, manifest);
  const limits = costPhase && limitsUnderProfile(costPhase, manifest);
  const withCost = {
    ...output,
    ...(breakdown && { cost_model: { profile: PROFILE, schedule: deployedSchedule(manifest), accounts_sharing_fixed_costs: ACCOUNTS, prices: PRICES, ...breakdown, peak_to_average: PEAK_TO_AVERAGE, limits } }),
  };
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(join(OUT_DIR, 'latest.json'), JSON.stringify(withCost, null, 2));
  const label: Record<StrategyName, string> = {
    engine: `engine (${RAISED_RATE}/s)`,
    engine_lag: `engine (${RAISED_RATE}/s), read-after-push lag 0-${LAG_MS} ms`,
    engine_default_rate: `engine (${DEFAULT_RATE}/s, shipped default)`,
    per_notification: 'sync per notification',
    polling: `polling every ${POLL_INTERVAL_MS / 1000} s`,
  };
  writeFileSync(
    join(OUT_DIR, 'latency.svg'),
    latencyChart(
      (Object.keys(latencies) as StrategyName[]).map((name) => ({ name: label[name], values: latencies[name] ?? [], color: COLORS[name] })),
      floor.floor_ms,
    ),
  );
  console.log(table(results));
  for (const [name, figures] of Object.entries(results)) if (figures.read_lag.unmet !== null) console.log(`\n${name}: ${figures.read_lag.unmet}`);
  console.log(`\nfloor (announced change): ${floor.floor_ms} ms (${Object.entries(floor.parts).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  console.log(`cold start: entry ${cold.cold_start_ms} ms; entry + per-API clients ${cold.cold_start_with_clients_ms} ms; entry + googleapis monolith ${cold.cold_start_monolith_ms} ms (${output.cold_start_ratio_monolith}×); a cold process to its first task ${floor.cold_process_to_first_task_ms} ms`);
  if (costPhase && breakdown) {
    console.log(`\nCost per connected account per month (list prices, no free tiers; fixed costs shared by ${ACCOUNTS} accounts; ${breakdown.pollsPerDay.toFixed(1)} polls a day):\n`);
    console.log(costTable(breakdown));
    console.log(`\n${unitTable(costPhase, breakdown)}`);
    console.log(`\nWhat runs out first (changes at ${PEAK_TO_AVERAGE}× their daily average rate):\n\n${limitsTable(limits ?? [])}`);
    const first = costPhase.firstSync;
    console.log(`\nthe poll of every source before the units (once, not in the monthly figure), per source: Firestore reads / writes / deletes ${round(first.firestoreReads)} / ${round(first.firestoreWrites)} / ${round(first.firestoreDeletes)}, KMS decrypts ${round(first.kmsDecrypts)}, log bytes ${round(first.logBytes)}`);
    const drained = results.engine?.settle_after_drain;
    if (drained) {
      const queued = Object.entries(drained.backlog_at_drain).map(([k, v]) => `${k} ${v}`).join(', ');
      console.log(`\nafter the drain: ${drained.idle ? 'idle' : 'NOT IDLE (gave up)'} after ${(drained.ms / 1000).toFixed(1)} s (queued when it ended: ${queued}); of the changes missing then, ${drained.missing_visible_once_idle} visible once idle, ${drained.missing_still} still missing`);
    }
    const steps = Object.entries(costPhase.timings).map(([step, t]) => `${step} ${(t.workMs / 1000).toFixed(1)} / ${(t.settle.ms / 1000).toFixed(1)}${t.settle.idle ? '' : ' NOT IDLE'}`);
    console.log(`\ncost phase steps, sending / settling until idle (s): ${steps.join(', ')}`);
    console.log(`\naudit groups: ${costPhase.audit.lowItems.toFixed(2)} and ${costPhase.audit.highItems.toFixed(2)} changes per source; status requests listed ${costPhase.statusSourcesPerRequest.toFixed(2)} sources each; the fallbackPoll run fanned out ${costPhase.counts.jobRunFannedOut ?? 0} polls`);
  }
  console.log(`\nWrote ${join(OUT_DIR, 'latest.json')}, ${join(OUT_DIR, 'latency.svg')} and ${join(OUT_DIR, 'slowest-<strategy>.json')}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error('\n', error);
    process.exit(1);
  },
);
