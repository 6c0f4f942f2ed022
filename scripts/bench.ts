/**
 * `npm run bench`: the engine on the local stack under a workload of many sources with steady
 * mail and calendar traffic plus bursts, against two simple strategies run in the same
 * process on the same workload, and against the floor that the injected Google latency and
 * the emulators' round trips make unavoidable. Figures, not assertions.
 *
 *   npm run bench                    200 sources, 90 s of traffic per strategy
 *   npm run bench -- --quick         10 sources, 8 s of traffic per strategy
 *   npm run bench -- --sources 50 --duration 30 --latency 50 --seed 7 --rate 5
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Firestore } from '@google-cloud/firestore';
import type { Services } from '../functions/src/entry/services';
import type { Pending } from '../functions/src/engine/model';
import type { Runner, RunOptions, RunOutcome } from '../functions/src/engine/runner';
import { registerWatches } from '../functions/src/engine/watches';
import { createFirestore } from '../functions/src/store/firestore';
import { newSource } from '../functions/src/engine/connect';
import { latencyChart } from './bench/chart';
import { countFirestoreOps } from './bench/firestore-ops';
import { PerNotificationRunner } from './bench/per-notification-runner';
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
    strategies: { type: 'string', default: 'engine,per_notification,polling' },
    env: { type: 'string', multiple: true, default: [] },
  },
});
/** Extra engine settings, e.g. --env GMAIL_FOLLOW_UPS=0 */
const EXTRA_ENV = Object.fromEntries(flags.env.map((pair) => pair.split('=') as [string, string]));
const SOURCES = Number(flags.sources ?? (flags.quick ? 10 : 200));
const DURATION_MS = Number(flags.duration ?? (flags.quick ? 8 : 90)) * 1000;
/**
 * Per-account Google requests per second for the engine's limiter. The engine's default is
 * the plan's safe 1/s; the benchmark uses 5/s, what Gmail's per-user quota sustains for
 * messages.get (100 units/s), so that 20-message bursts measure the engine, not the throttle.
 */
const RATE = flags.rate ?? '5';
const LATENCY_MS = Number(flags.latency);
const POLL_INTERVAL_MS = flags.quick ? 10_000 : 120_000;
const MAIL_PER_S = flags.quick ? 2 : 4;
const EVENTS_PER_S = flags.quick ? 0.5 : 1;
const BURST_EVERY_MS = flags.quick ? 7_000 : 15_000;
const OUT_DIR = 'bench-results';

let seed = Number(flags.seed);
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const started = Date.now();
const progress = (line: string) => process.stdout.write(`\r[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line.padEnd(90)}`);

type StrategyName = 'engine' | 'per_notification' | 'polling';

interface Figures {
  freshness_ms: { p50: number; p95: number; p99: number };
  items: number;
  missing: number;
  google_calls_per_item: number;
  list_calls_per_notification: number | null;
  lease_contention: number | null;
  firestore_reads_per_item: number;
  firestore_writes_per_item: number;
}

/** Counts how triggers fared: `recorded` means another run held the lease and took the work. */
class CountingRunner implements Runner {
  readonly outcomes: Record<string, number> = {};
  constructor(private readonly inner: Runner) {}
  async handle(sourceId: string, work: Pending, options: RunOptions): Promise<RunOutcome> {
    const outcome = await this.inner.handle(sourceId, work, options);
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
    return outcome;
  }
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
        await stack.services.sources.create(id, newSource(`user-${i % 50}`, email, stack.services.clock.now()));
        await stack.services.vault.store(id, refreshToken);
        await registerWatches(stack.services.watchDeps, id);
        ids.push(id);
      }),
    );
    progress(`connected ${Math.min(start + 10, SOURCES)}/${SOURCES} sources`);
  }
  return ids;
}

interface Expectation {
  changedAt: number;
}

function watchTasks(db: Firestore, expected: Map<string, Expectation>, latencies: number[]): () => void {
  return db.collectionGroup('tasks').onSnapshot((snapshot) => {
    const now = Date.now();
    for (const change of snapshot.docChanges()) {
      const expectation = expected.get(change.doc.id);
      if (!expectation) continue;
      expected.delete(change.doc.id);
      latencies.push(now - expectation.changedAt);
    }
  });
}

async function runWorkload(stack: LocalStack, ids: string[], expected: Map<string, Expectation>): Promise<number> {
  const end = Date.now() + DURATION_MS;
  let changes = 0;
  let nextBurst = Date.now() + 2000;
  const inFlight: Promise<unknown>[] = [];
  const mail = (i: number, subject: string) => {
    const changedAt = Date.now();
    return stack.admin.deliverMail(`bench${i}@example.com`, { subject }).then((m) => void expected.set(`bench-${i}:gmail:${m.id}`, { changedAt }));
  };
  while (Date.now() < end) {
    const tickStart = Date.now();
    if (random() < MAIL_PER_S / 10) {
      changes += 1;
      inFlight.push(mail(Math.floor(random() * ids.length), `steady ${changes}`));
    }
    if (random() < EVENTS_PER_S / 10) {
      changes += 1;
      const i = Math.floor(random() * ids.length);
      const start = new Date(Date.now() + 86_400_000 * (1 + Math.floor(random() * 5)));
      const at = Date.now();
      inFlight.push(
        stack.admin
          .createEvent(`bench${i}@example.com`, { summary: `event ${changes}`, start: { dateTime: start.toISOString() }, end: { dateTime: new Date(start.getTime() + 1_800_000).toISOString() } })
          .then((e) => expected.set(`bench-${i}:calendar:${e.id}`, { changedAt: at })),
      );
    }
    if (Date.now() >= nextBurst) {
      // 20 messages to one mailbox within a second.
      nextBurst += BURST_EVERY_MS;
      const i = Math.floor(random() * ids.length);
      for (let b = 0; b < 20; b += 1) {
        changes += 1;
        inFlight.push(mail(i, `burst ${changes}`));
        await sleep(45);
      }
    }
    progress(`workload: ${changes} changes, ${expected.size} not yet visible`);
    await sleep(Math.max(0, 100 - (Date.now() - tickStart)));
  }
  await Promise.all(inFlight);
  return changes;
}

function countCalls(stats: Record<string, Record<string, number>>) {
  let total = 0;
  let lists = 0;
  for (const methods of Object.values(stats)) {
    for (const [method, n] of Object.entries(methods)) {
      total += n;
      if (method === 'gmail.users.history.list' || method === 'calendar.events.list') lists += n;
    }
  }
  return { total, lists };
}

async function runStrategy(name: StrategyName): Promise<{ figures: Figures; latencies: number[] }> {
  mkdirSync(OUT_DIR, { recursive: true });
  let counting: CountingRunner | undefined;
  const stack = await startLocalStack({
    projectId: `demo-bench-${name.replace('_', '-')}`,
    scheduler: false,
    logFile: join(OUT_DIR, `functions-${name}.log`),
    sandboxSeed: Number(flags.seed),
    env: { RATE_LIMIT_PER_SECOND: RATE, ...EXTRA_ENV },
    runner: (services: Services) => (counting = new CountingRunner(name === 'per_notification' ? new PerNotificationRunner(services) : services.runner)),
  });
  try {
    progress(`${name}: connecting ${SOURCES} sources`);
    const ids = await setUpSources(stack);
    await sleep(1200);
    await stack.admin.setFaults({ latencyMs: LATENCY_MS, ...(name === 'polling' && { push: { dropRate: 1 } }) });
    await stack.admin.resetStats();
    Object.keys(counting!.outcomes).forEach((k) => delete counting!.outcomes[k]);
    const firestoreOps = countFirestoreOps(stack.services.db);
    const db = createFirestore(stack.projectId);
    const expected = new Map<string, Expectation>();
    const latencies: number[] = [];
    const unsubscribe = watchTasks(db, expected, latencies);

    let polling = true;
    const pollLoop = (async () => {
      if (name !== 'polling') return;
      while (polling) {
        await sleep(POLL_INTERVAL_MS);
        if (!polling) return;
        await Promise.all(ids.map((id) => stack.services.runner.handle(id, { gmail: null, calendar: true }, { trigger: 'poll', checkGmail: true }).catch(() => 'failed')));
      }
    })();

    const changes = await runWorkload(stack, ids, expected);
    // Time for the last changes to land; a strategy that loses changes waits all of it.
    const grace = flags.quick ? 10_000 : 30_000;
    const drainUntil = Date.now() + (name === 'polling' ? POLL_INTERVAL_MS + grace : grace);
    while (expected.size > 0 && Date.now() < drainUntil) {
      progress(`${name}: ${changes} changes made, waiting for ${expected.size}`);
      await sleep(250);
    }
    polling = false;
    unsubscribe();
    const stats = await stack.admin.stats();
    const { total, lists } = countCalls(stats.calls);
    const notifications = (stats.pushes.gmailPublished ?? 0) + (stats.pushes.calendarDelivered ?? 0);
    const outcomes = counting!.outcomes;
    const triggers = Object.values(outcomes).reduce((a, b) => a + b, 0);
    const items = latencies.length;
    await db.terminate();
    await pollLoop;
    return {
      latencies,
      figures: {
        freshness_ms: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99) },
        items,
        missing: expected.size,
        google_calls_per_item: round(total / Math.max(1, items)),
        list_calls_per_notification: name === 'polling' || notifications === 0 ? null : round(lists / notifications),
        lease_contention: name === 'engine' && triggers > 0 ? round((outcomes.recorded ?? 0) / triggers) : null,
        firestore_reads_per_item: round(firestoreOps.reads / Math.max(1, items)),
        firestore_writes_per_item: round(firestoreOps.writes / Math.max(1, items)),
      },
    };
  } finally {
    await stack.stop();
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
const median = (values: number[]) => percentile(values, 50);

/** The unavoidable part of a change's path, measured on this machine, not guessed. */
async function measureFloor(): Promise<{ floor_ms: number; parts: Record<string, number> }> {
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
    return { floor_ms: parts.pubsub_push_ms + 2 * parts.google_call_ms + parts.firestore_write_ms, parts };
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
  };
  const time = (extra: string) => {
    const runs: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const script = `const t=process.hrtime.bigint();require('./functions/lib/index.js');${extra};console.log(Number(process.hrtime.bigint()-t)/1e6)`;
      runs.push(Number(spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }).stdout.trim()));
    }
    return round(median(runs));
  };
  return {
    cold_start_ms: time(''),
    cold_start_with_clients_ms: time("require('@googleapis/gmail');require('@googleapis/calendar')"),
    cold_start_monolith_ms: time("require('googleapis')"),
  };
}

function table(results: Record<StrategyName, Figures>, floor: number): string {
  const rows: [string, (f: Figures) => string][] = [
    ['freshness p50 (ms)', (f) => String(f.freshness_ms.p50)],
    ['freshness p95 (ms)', (f) => String(f.freshness_ms.p95)],
    ['freshness p99 (ms)', (f) => String(f.freshness_ms.p99)],
    ['p99 / floor', (f) => String(round(f.freshness_ms.p99 / floor))],
    ['items seen (missing)', (f) => `${f.items} (${f.missing})`],
    ['Google calls per item', (f) => String(f.google_calls_per_item)],
    ['list calls per notification', (f) => String(f.list_calls_per_notification ?? 'n/a')],
    ['lease contention', (f) => String(f.lease_contention ?? 'n/a')],
    ['Firestore reads per item', (f) => String(f.firestore_reads_per_item)],
    ['Firestore writes per item', (f) => String(f.firestore_writes_per_item)],
  ];
  const names = Object.keys(results) as StrategyName[];
  return [
    `| figure | ${names.join(' | ')} |`,
    `|---|${names.map(() => '---').join('|')}|`,
    ...rows.map(([label, get]) => `| ${label} | ${names.map((n) => get(results[n])).join(' | ')} |`),
  ].join('\n');
}

async function main() {
  console.log(`Benchmark: ${SOURCES} sources, ${DURATION_MS / 1000} s of traffic per strategy, Google latency ${LATENCY_MS} ms, seed ${flags.seed}`);
  progress('measuring cold start');
  const cold = coldStart();
  progress('measuring the floor');
  const floor = await measureFloor();
  const results = {} as Record<StrategyName, Figures>;
  const latencies: Partial<Record<StrategyName, number[]>> = {};
  for (const name of flags.strategies.split(',') as StrategyName[]) {
    const run = await runStrategy(name);
    results[name] = run.figures;
    latencies[name] = run.latencies;
  }
  process.stdout.write('\n\n');
  const ours = results.engine;
  const ratio = (base: Figures | undefined) => base && ({
    freshness_p50: round(base.freshness_ms.p50 / ours.freshness_ms.p50),
    freshness_p99: round(base.freshness_ms.p99 / ours.freshness_ms.p99),
    google_calls_per_item: round(base.google_calls_per_item / ours.google_calls_per_item),
  });
  const output = {
    config: { rate_limit_per_s: Number(RATE), sources: SOURCES, duration_s: DURATION_MS / 1000, google_latency_ms: LATENCY_MS, poll_interval_ms: POLL_INTERVAL_MS, seed: Number(flags.seed), quick: flags.quick },
    ...ours,
    floor_ms: floor.floor_ms,
    floor_parts: floor.parts,
    p50_over_floor: round(ours.freshness_ms.p50 / floor.floor_ms),
    p99_over_floor: round(ours.freshness_ms.p99 / floor.floor_ms),
    ...cold,
    cold_start_ratio_monolith: round(cold.cold_start_monolith_ms / cold.cold_start_with_clients_ms),
    firestore_note: 'Counted at the functions\' Firestore client (lookups, query results, committed writes), scheduled jobs off.',
    baselines: { per_notification: results.per_notification, polling: results.polling },
    ratios_to_engine: { per_notification: ratio(results.per_notification), polling: ratio(results.polling) },
  };
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(join(OUT_DIR, 'latest.json'), JSON.stringify(output, null, 2));
  writeFileSync(
    join(OUT_DIR, 'latency.svg'),
    latencyChart(
      [
        { name: 'engine', values: latencies.engine ?? [], color: '#1a73e8' },
        { name: 'sync per notification', values: latencies.per_notification ?? [], color: '#e8710a' },
        { name: `polling every ${POLL_INTERVAL_MS / 1000} s`, values: latencies.polling ?? [], color: '#188038' },
      ],
      floor.floor_ms,
    ),
  );
  console.log(table(results, floor.floor_ms));
  console.log(`\nfloor: ${floor.floor_ms} ms (${Object.entries(floor.parts).map(([k, v]) => `${k} ${v}`).join(', ')}); engine p50/p99 = ${output.p50_over_floor}× / ${output.p99_over_floor}× the floor`);
  console.log(`cold start: entry ${cold.cold_start_ms} ms; entry + per-API clients ${cold.cold_start_with_clients_ms} ms; entry + googleapis monolith ${cold.cold_start_monolith_ms} ms (${output.cold_start_ratio_monolith}×)`);
  console.log(`\nWrote ${join(OUT_DIR, 'latest.json')} and ${join(OUT_DIR, 'latency.svg')}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error('\n', error);
    process.exit(1);
  },
);
