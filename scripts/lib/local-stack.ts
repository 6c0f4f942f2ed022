import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, type Config } from '../../functions/src/config';
import { buildServices, type Services } from '../../functions/src/entry/services';
import type { Clock } from '../../functions/src/engine/ports';
import { createLogger } from '../../functions/src/logging';
import { SandboxAdmin } from '../../sandbox/src/admin-client';
import { startSandbox, type RunningSandbox } from '../../sandbox/src/server';
import { startEmulators, type RunningEmulators } from './emulators';
import { assertPortsFree, startFunctionsHost, type FunctionsHost } from './functions-host';
import { startRoundRobin } from './round-robin';
import { createFollowUpQueue, localFunctionEnv } from './local-env';
import { sumFlow, sumUsage, type Flow, type Usage } from '../bench/usage';

/**
 * The whole engine on one machine: the Firestore and Pub/Sub emulators, the sandbox as
 * Google, every function in one Functions Framework host, the topics and push
 * subscriptions that wire them, and the scheduled jobs on (optionally shortened) cadences.
 * Shared by `npm start`, the benchmark and the soak.
 */

export interface LocalStackOptions {
  projectId?: string;
  functionsPort?: number;
  sandboxPort?: number;
  /** Where the functions' JSON log lines go; stdout when absent. */
  logFile?: string;
  /** Scheduled jobs run this many times faster than in production (1 = hourly / 2 min / daily). */
  cadenceScale?: number;
  /** Run the scheduled jobs at all. */
  scheduler?: boolean;
  env?: Record<string, string>;
  clock?: Clock;
  sandboxSeed?: number;
  onProgress?: (line: string) => void;
  /** Replaces the sync runner (the benchmark's simple strategies) in the in-process host. */
  runner?: (services: Services) => Services['runner'];
  /**
   * Serve the functions from this many host processes behind a round-robin front, as that
   * many instances would (the benchmark); 0 (default) serves them in this process.
   */
  hostProcesses?: number;
  /** The runner the host processes use: the engine's, or the per-notification baseline. */
  processRunner?: 'engine' | 'per_notification';
}

/** Firestore operations and trigger outcomes counted inside the host processes. */
export interface HostStats {
  reads: number;
  writes: number;
  deletes: number;
  ttlWrites: number;
  outcomes: Record<string, number>;
  /** Invocations, instance time, log bytes and the rest the cost model needs (scripts/bench/usage.ts). */
  usage: Usage;
  /** Requests under way and messages acknowledged since the hosts started (never reset). */
  flow: Flow;
}

export interface LocalStack {
  projectId: string;
  emulators: RunningEmulators;
  sandbox: RunningSandbox;
  admin: SandboxAdmin;
  host: FunctionsHost;
  config: Config;
  /** The functions' environment (what a further host process would be started with). */
  functionEnv: Record<string, string>;
  services: Services;
  /** The status page (it signs in; no user in the URL). */
  statusUrl(): string;
  /** Sums the host processes' counts (zeros when the functions run in this process); `reset` restarts them. */
  hostStats(reset?: boolean): Promise<HostStats>;
  stop(): Promise<void>;
}

const MINUTE = 60_000;
const JOBS = [
  { name: 'fallbackPoll', everyMs: 2 * MINUTE },
  { name: 'renewWatches', everyMs: 60 * MINUTE },
  { name: 'pruneRetention', everyMs: 24 * 60 * MINUTE },
  { name: 'auditCompleteness', everyMs: 24 * 60 * MINUTE },
  { name: 'publishChanges', everyMs: MINUTE },
] as const;

/** A front that spreads requests over host processes; their addresses are set once they run. */
async function startRoundRobinHost(): Promise<FunctionsHost & { setTargets(urls: string[]): void }> {
  const front = await startRoundRobin();
  return { url: front.url, functionUrl: (name) => `${front.url}/${name}`, close: () => front.close(), setTargets: (urls) => front.setTargets(urls) };
}

async function spawnHost(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'functions-host-main.ts')], {
    env: { ...process.env, ...env, SYNC_HOST_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      const ready = /ready (\S+)/.exec(c.toString());
      if (ready) resolve(ready[1]!);
    });
    child.once('exit', (code) => reject(new Error(`functions host exited with ${code}`)));
  });
  return { child, url };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function sumStats(children: ChildProcess[], reset: boolean): Promise<HostStats> {
  const each = await Promise.all(
    children.map(
      (child) =>
        new Promise<HostStats>((resolve) => {
          child.once('message', (m) => resolve(m as HostStats));
          child.send(reset ? 'reset' : 'stats');
        }),
    ),
  );
  const outcomes: Record<string, number> = {};
  each.forEach((s) => Object.entries(s.outcomes).forEach(([k, v]) => (outcomes[k] = (outcomes[k] ?? 0) + v)));
  const total = (key: 'reads' | 'writes' | 'deletes' | 'ttlWrites') => each.reduce((a, s) => a + s[key], 0);
  return { reads: total('reads'), writes: total('writes'), deletes: total('deletes'), ttlWrites: total('ttlWrites'), outcomes, usage: sumUsage(each.map((s) => s.usage)), flow: sumFlow(each.map((s) => s.flow)) };
}

async function put(host: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`http://${host}/v1/${path}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok && response.status !== 409) throw new Error(`Pub/Sub emulator refused ${path}: ${response.status} ${await response.text()}`);
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const progress = options.onProgress ?? (() => undefined);
  const projectId = options.projectId ?? 'demo-sync-engine';
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s();
  };
  try {
    await assertPortsFree([
      { port: options.functionsPort ?? 0, what: 'the functions host' },
      { port: options.sandboxPort ?? 0, what: 'the sandbox' },
    ]);
    progress('starting the Firestore and Pub/Sub emulators');
    const emulators = await startEmulators({ projectId });
    stops.push(() => emulators.stop());
    Object.assign(process.env, emulators.env);

    progress('starting the sandbox (local Gmail, Calendar, OAuth)');
    const sandbox = await startSandbox({ port: options.sandboxPort ?? 0, pubsubEmulatorHost: emulators.pubsubHost, seed: options.sandboxSeed ?? 1 });
    stops.push(() => sandbox.close());

    await createFollowUpQueue(projectId, sandbox.url);

    let services: Services | undefined;
    const processes = options.hostProcesses ?? 0;
    const front = processes > 0 ? await startRoundRobinHost() : null;
    const host =
      front ??
      (await startFunctionsHost(() => {
        if (!services) throw new Error('the functions are not configured yet');
        return services;
      }, options.functionsPort ?? 0));
    stops.push(() => host.close());

    const functionEnv = {
      ...localFunctionEnv({ projectId, sandboxUrl: sandbox.url, functionUrl: (name) => `${host.url}/${name}` }),
      // Users sign in on the local Firebase Auth emulator (its unsigned tokens count only here).
      FIREBASE_AUTH_EMULATOR_HOST: emulators.authHost,
      ...options.env,
    };
    const config = parseConfig(functionEnv);
    const children: ChildProcess[] = [];
    if (front) {
      progress(`starting ${processes} functions host processes`);
      const urls: string[] = [];
      for (let i = 0; i < processes; i += 1) {
        const { child, url } = await spawnHost({ ...functionEnv, ...emulators.env, SYNC_STATS: '1', SYNC_RUNNER: options.processRunner ?? 'engine', ...(options.logFile && { SYNC_LOG_FILE: options.logFile }) });
        children.push(child);
        urls.push(url);
        stops.push(() => stopChild(child));
      }
      front.setTargets(urls);
    }
    const logFile = options.logFile;
    const logger = createLogger(logFile ? (line) => appendFileSync(logFile, `${line}\n`) : undefined);
    services = buildServices(config, { logger, ...(options.clock && { clock: options.clock }) });
    if (options.runner) services = { ...services, runner: options.runner(services) };

    progress('creating topics and push subscriptions');
    for (const [topic, target] of [
      ['gmail-watch', 'gmailPush'],
      ['sync-requests', 'syncWorker'],
    ] as const) {
      await put(emulators.pubsubHost, `projects/${projectId}/topics/${topic}`, {});
      await put(emulators.pubsubHost, `projects/${projectId}/subscriptions/${topic}-to-${target}`, {
        topic: `projects/${projectId}/topics/${topic}`,
        ackDeadlineSeconds: 60,
        pushConfig: { pushEndpoint: `${host.functionUrl(target)}/projects/${projectId}/topics/${topic}` },
      });
    }
    // The change stream: the host app (or the local receiver) attaches its own subscription.
    await put(emulators.pubsubHost, `projects/${projectId}/topics/${config.taskChangesTopic}`, {});

    if (options.scheduler !== false) {
      const scale = options.cadenceScale ?? 1;
      for (const job of JOBS) {
        const timer = setInterval(() => {
          fetch(host.functionUrl(job.name), { method: 'POST' }).catch(() => undefined);
        }, Math.max(1000, job.everyMs / scale));
        stops.push(() => clearInterval(timer));
      }
    }

    return {
      projectId,
      emulators,
      sandbox,
      admin: new SandboxAdmin(sandbox.url),
      host,
      config,
      functionEnv: { ...functionEnv, ...emulators.env },
      services,
      statusUrl: () => host.functionUrl('sourceStatus'),
      hostStats: (reset = false) => sumStats(children, reset),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
