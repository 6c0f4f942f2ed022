import { appendFileSync } from 'node:fs';
import { parseConfig, type Config } from '../../functions/src/config';
import { buildServices, type Services } from '../../functions/src/entry/services';
import type { Clock } from '../../functions/src/engine/ports';
import { createLogger } from '../../functions/src/logging';
import { SandboxAdmin } from '../../sandbox/src/admin-client';
import { startSandbox, type RunningSandbox } from '../../sandbox/src/server';
import { startEmulators, type RunningEmulators } from './emulators';
import { startFunctionsHost, type FunctionsHost } from './functions-host';
import { createFollowUpQueue, localFunctionEnv } from './local-env';

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
  /** Replaces the sync runner (the benchmark's simple strategies). */
  runner?: (services: Services) => Services['runner'];
}

export interface LocalStack {
  projectId: string;
  emulators: RunningEmulators;
  sandbox: RunningSandbox;
  admin: SandboxAdmin;
  host: FunctionsHost;
  config: Config;
  services: Services;
  statusUrl(userId: string): string;
  stop(): Promise<void>;
}

const MINUTE = 60_000;
const JOBS = [
  { name: 'fallbackPoll', everyMs: 2 * MINUTE },
  { name: 'renewWatches', everyMs: 60 * MINUTE },
  { name: 'pruneRetention', everyMs: 24 * 60 * MINUTE },
] as const;

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
    progress('starting the Firestore and Pub/Sub emulators');
    const emulators = await startEmulators({ projectId });
    stops.push(() => emulators.stop());
    Object.assign(process.env, emulators.env);

    progress('starting the sandbox (local Gmail, Calendar, OAuth)');
    const sandbox = await startSandbox({ port: options.sandboxPort ?? 0, pubsubEmulatorHost: emulators.pubsubHost, seed: options.sandboxSeed ?? 1 });
    stops.push(() => sandbox.close());

    await createFollowUpQueue(projectId, sandbox.url);

    let services: Services | undefined;
    const host = await startFunctionsHost(() => {
      if (!services) throw new Error('the functions are not configured yet');
      return services;
    }, options.functionsPort ?? 0);
    stops.push(() => host.close());

    const config = parseConfig({
      ...localFunctionEnv({ projectId, sandboxUrl: sandbox.url, functionUrl: (name) => `${host.url}/${name}` }),
      ...options.env,
    });
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
      services,
      statusUrl: (userId) => `${host.functionUrl('sourceStatus')}?userId=${encodeURIComponent(userId)}`,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
