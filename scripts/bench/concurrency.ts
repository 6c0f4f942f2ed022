/**
 * How many requests one function instance serves at once, measured rather than guessed: one
 * Functions Framework host process (one instance) on the local stack, syncWorker driven
 * directly with Pub/Sub push bodies, each a Gmail sync of a distinct source with one new
 * message to ingest (history.list, a messages.get batch, the task write), Google answering
 * through the sandbox with injected latency. For each in-flight limit (Cloud Run's
 * per-instance concurrency) it reports requests per second, latency, the host's CPU time per
 * request and its peak resident memory. Figures, not assertions; written to
 * bench/concurrency.json and read by docs/performance.md and the deployment manifest.
 *
 *   npx tsx scripts/bench/concurrency.ts [--sources 64] [--latency 100] [--levels 1,2,4,8,16,32]
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { newSource } from '../../functions/src/engine/account/connect';
import { registerWatches } from '../../functions/src/engine/account/watches';
import { percentile } from '../lib/demo';
import { startLocalStack, type LocalStack } from '../lib/local-stack';

const { values: flags } = parseArgs({
  options: {
    sources: { type: 'string', default: '64' },
    latency: { type: 'string', default: '100' },
    levels: { type: 'string', default: '1,2,4,8,16,32' },
    out: { type: 'string', default: 'bench/concurrency.json' },
  },
});
const LEVELS = flags.levels.split(',').map(Number);
/** Every level sends one request per source: no two requests ever share a source (its lease). */
const SOURCES = Number(flags.sources);
const REQUESTS = SOURCES;
const PROJECT = 'demo-bench-concurrency';
const CLOCK_TICKS = 100;

/** The host process's CPU seconds (user + system) and peak RSS, from /proc. */
function hostUsage(pid: number): { cpuSeconds: number; peakRssMiB: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { cpuSeconds, peakRssMiB: Math.round(Number(hwm) / 1024) };
}

/** The functions host process this script started (its child running functions-host-main). */
function hostPid(): number {
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      if (ppid === process.pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('functions-host-main')) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  throw new Error('no functions host process found');
}

async function connectSources(stack: LocalStack): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < SOURCES; i += 1) {
    const email = `load${i}@example.com`;
    const id = `load-${i}`;
    const { refreshToken } = await stack.admin.createAccount(email);
    await stack.services.sources.create(id, newSource(`user-${i}`, email, stack.services.clock.now()));
    await stack.services.vault.store(id, refreshToken);
    await registerWatches(stack.services.watchDeps, id);
    ids.push(id);
  }
  return ids;
}

function pushBody(sourceId: string, n: number): string {
  const request = { sourceId, trigger: 'poll', calendar: false, gmail: true };
  const message = { data: Buffer.from(JSON.stringify(request)).toString('base64'), messageId: `m${n}`, publishTime: new Date().toISOString() };
  return JSON.stringify({ message, subscription: `projects/${PROJECT}/subscriptions/sync-worker` });
}

interface Level {
  concurrency: number;
  requests: number;
  failed: number;
  requests_per_second: number;
  p50_ms: number;
  p95_ms: number;
  cpu_ms_per_request: number;
  cpu_utilisation: number;
  peak_rss_mib: number;
  /** What the host's runner answered (e.g. `synced`), to show the requests did the work. */
  outcomes: Record<string, number>;
}

async function runLevel(stack: LocalStack, ids: string[], concurrency: number, pid: number): Promise<Level> {
  const url = `${stack.host.functionUrl('syncWorker')}/projects/${PROJECT}/topics/sync-requests`;
  // Each request finds one new message; mail is delivered before timing starts.
  for (const id of ids) await stack.admin.deliverMail(`${id.replace('load-', 'load')}@example.com`, { subject: `load ${concurrency}` });
  await stack.hostStats(true);
  const before = hostUsage(pid);
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  const started = Date.now();
  const worker = async () => {
    for (let n = next++; n < REQUESTS; n = next++) {
      const sourceId = ids[n]!;
      const t = Date.now();
      const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: pushBody(sourceId, n) });
      await response.arrayBuffer();
      if (!response.ok) failed += 1;
      latencies.push(Date.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  const seconds = (Date.now() - started) / 1000;
  const after = hostUsage(pid);
  const { outcomes } = await stack.hostStats();
  const cpu = after.cpuSeconds - before.cpuSeconds;
  return {
    concurrency,
    requests: REQUESTS,
    failed,
    requests_per_second: Math.round((REQUESTS / seconds) * 10) / 10,
    p50_ms: percentile(latencies, 50),
    p95_ms: percentile(latencies, 95),
    cpu_ms_per_request: Math.round((cpu * 1000) / REQUESTS),
    cpu_utilisation: Math.round((cpu / seconds) * 100) / 100,
    peak_rss_mib: after.peakRssMiB,
    outcomes,
  };
}

async function main(): Promise<void> {
  const stack = await startLocalStack({
    projectId: PROJECT,
    scheduler: false,
    hostProcesses: 1,
    logFile: '/tmp/bench-concurrency-functions.log',
    env: { RATE_LIMIT_PER_SECOND: '20', RATE_LIMIT_BURST: '20' },
    onProgress: (line) => console.log(line),
  });
  try {
    const pid = hostPid();
    const ids = await connectSources(stack);
    // Pushes off: only the requests this script sends reach the host.
    await stack.admin.setFaults({ latencyMs: Number(flags.latency), push: { dropRate: 1 } });
    await runLevel(stack, ids, 4, pid); // warm-up: module loading, clients, connections
    const levels: Level[] = [];
    for (const concurrency of LEVELS) {
      const level = await runLevel(stack, ids, concurrency, pid);
      console.log(JSON.stringify(level));
      levels.push(level);
    }
    const result = {
      command: `npx tsx scripts/bench/concurrency.ts --sources ${SOURCES} --latency ${flags.latency} --levels ${flags.levels}`,
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
      workload: 'syncWorker, one Gmail sync per request with one new message, distinct sources, sandbox Google latency per call',
      google_latency_ms: Number(flags.latency),
      at: new Date().toISOString(),
      levels,
    };
    writeFileSync(flags.out.startsWith('/') ? flags.out : join(__dirname, '../..', flags.out), `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${flags.out}`);
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
