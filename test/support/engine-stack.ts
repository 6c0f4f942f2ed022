import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { Firestore } from '@google-cloud/firestore';
import { parseConfig, type Config } from '../../functions/src/config';
import { buildServices, type ServiceOverrides, type Services } from '../../functions/src/entry/services';
import type { Clock, Logger } from '../../functions/src/engine/ports';
import type { SourceStore } from '../../functions/src/engine/source/ports';
import type { Source } from '../../functions/src/engine/model';
import { SyncRunner } from '../../functions/src/engine/runner/runner';
import { LAG_SPAN_MS } from '../../functions/src/engine/gmail/read-lag';
import { WALK_WAIT_OWNER } from '../../functions/src/engine/source/lease';
import { createLogger } from '../../functions/src/logging';
import { FUNCTIONS, registerFunctions, type FunctionName } from '../../functions/src/register';
import { SandboxAdmin } from '../../sandbox/src/admin-client';
import { startSandbox, type RunningSandbox } from '../../sandbox/src/server';
import { createFollowUpQueue, localFunctionEnv } from '../../scripts/lib/local-env';
import { sourceData } from './builders';
import { freshFirestore } from './firestore';
import { createPushSubscription, createTopic, deleteSubscription } from './pubsub';
import { waitFor } from './wait';

/**
 * The engine as Cloud Functions run it, on the emulators and the sandbox: the production
 * services (Firestore repositories, official Google clients) with the sandbox as Google,
 * and the functions served by the Functions Framework.
 */
export interface EngineStack {
  sandbox: RunningSandbox;
  admin: SandboxAdmin;
  db: Firestore;
  projectId: string;
  config: Config;
  /** The environment the configuration was parsed from: a separate functions process gets the same. */
  functionEnv: Record<string, string>;
  services: Services;
  logLines: string[];
  gmailTopic: string;
  /** The change stream's topic (`projects/P/topics/task-changes`). */
  taskChangesTopic: string;
  /** URL of a function served by the Functions Framework. */
  functionUrl(name: FunctionName): string;
  connect(sourceId: string, email: string, userId?: string): Promise<void>;
  /** Waits until no run holds the source's lease and nothing is pending. */
  settled(sourceId: string): Promise<void>;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<{ url: string; server: Server }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

export async function startEngineStack(options: { env?: Record<string, string>; overrides?: ServiceOverrides; subscribeGmailPush?: boolean } = {}): Promise<EngineStack> {
  const { db, projectId } = await freshFirestore();
  const sandbox = await startSandbox({ pubsubEmulatorHost: process.env.PUBSUB_EMULATOR_HOST });
  const admin = new SandboxAdmin(sandbox.url);
  await createFollowUpQueue(projectId, sandbox.url);
  const gmailTopic = await createTopic(projectId, 'gmail-watch');
  const syncRequestsTopic = await createTopic(projectId, 'sync-requests');
  const taskChangesTopic = await createTopic(projectId, 'task-changes');

  // Served first, so that the calendarPush address is known to the configuration.
  let services: Services | undefined = undefined;
  const current = () => {
    if (!services) throw new Error('services not built yet');
    return services;
  };
  // Invocations are tracked so that close() can let running syncs finish first.
  const inFlight = new Set<Promise<unknown>>();
  const tracked =
    <A extends unknown[]>(handler: (...args: A) => Promise<void>) =>
    (...args: A): Promise<void> => {
      const run = handler(...args);
      inFlight.add(run);
      return run.finally(() => inFlight.delete(run));
    };
  registerFunctions(current, tracked);
  const servers = {} as Record<FunctionName, { url: string; server: Server }>;
  for (const name of Object.keys(FUNCTIONS) as FunctionName[]) servers[name] = await listen(getTestServer(name));

  const functionEnv: Record<string, string> = {
    ...localFunctionEnv({ projectId, sandboxUrl: sandbox.url, functionUrl: (name) => servers[name as FunctionName].url }),
    CONNECT_RETURN_URL: 'http://127.0.0.1:9/settings',
    TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 42).toString('base64'),
    RATE_LIMIT_PER_SECOND: '50',
    RATE_LIMIT_BURST: '10',
    BACKOFF_BASE_MS: '50',
    ...options.env,
  };
  const config = parseConfig(functionEnv);
  const logLines: string[] = [];
  const logger: Logger = createLogger((line) => logLines.push(line));
  services = buildServices(config, { logger, ...options.overrides });
  const subscriptions: string[] = [];
  if (options.subscribeGmailPush !== false) {
    subscriptions.push(await createPushSubscription(gmailTopic, `${servers.gmailPush.url}/projects/${projectId}/topics/gmail-watch`));
  }
  subscriptions.push(await createPushSubscription(syncRequestsTopic, `${servers.syncWorker.url}/projects/${projectId}/topics/sync-requests`));

  const built = services;
  return {
    sandbox,
    admin,
    db,
    projectId,
    config,
    functionEnv,
    services: built,
    logLines,
    gmailTopic,
    taskChangesTopic,
    functionUrl: (name) => servers[name].url,
    async connect(sourceId, email, userId = 'user-1') {
      const account = await admin.createAccount(email);
      const now = built.clock.now();
      await built.sources.create(sourceId, sourceData({ userId, email, historyId: null, createdAt: now, updatedAt: now }));
      await built.vault.store(sourceId, account.refreshToken);
    },
    async settled(sourceId) {
      await waitFor(async () => {
        const source = await built.sources.get(sourceId);
        // A walk waiting out the lag keeps a lease with no run behind it: at rest too.
        const resting = source?.lease === null || source?.lease?.owner === WALK_WAIT_OWNER;
        return source !== null && resting && source.pending.gmail === null && !source.pending.calendar && source.pending.calendars.length === 0;
      });
    },
    async close() {
      await Promise.all(subscriptions.map(deleteSubscription));
      await sandbox.close();
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      for (const { server } of Object.values(servers)) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      await db.terminate();
    },
  };
}

/** Calls a scheduled job the way Cloud Scheduler does and returns its summary. */
export async function runJob(stack: EngineStack, name: 'renewWatches' | 'fallbackPoll' | 'pruneRetention' | 'auditCompleteness' | 'publishChanges'): Promise<Record<string, unknown>> {
  const response = await fetch(stack.functionUrl(name), { method: 'POST' });
  if (!response.ok) throw new Error(`${name} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

export async function registerWatch(stack: EngineStack, sourceId: string): Promise<Response> {
  return fetch(stack.functionUrl('registerWatch'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ sourceId }),
  });
}

/**
 * Connects a source and opens its watches, then waits until the Calendar channel's first
 * notification (`sync`) has confirmed it. Returns the source as registration left it.
 */
export async function connectAndWatch(stack: EngineStack, sourceId: string, email: string, userId: string): Promise<Source> {
  await stack.connect(sourceId, email, userId);
  expect((await registerWatch(stack, sourceId)).status).toBe(200);
  const source = (await stack.services.sources.get(sourceId))!;
  await waitFor(async () => (await stack.services.channels.get(source.calendarChannelId!))?.confirmedAt);
  return source;
}

/** Delivers a Gmail notification to gmailPush (the stack's, or another served at `url`) as a Pub/Sub push subscription would. */
export async function gmailPush(stack: EngineStack, emailAddress: string, historyId: string, messageId: string, url = stack.functionUrl('gmailPush')): Promise<number> {
  const data = Buffer.from(JSON.stringify({ emailAddress, historyId })).toString('base64');
  const response = await fetch(`${url}/projects/${stack.projectId}/topics/gmail-watch`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ message: { data, messageId }, subscription: `projects/${stack.projectId}/subscriptions/gmail` }),
  });
  return response.status;
}

/** The stack's store, except that `step` decides what the runner's nth transition does. */
export function storeWithTransitions(stack: EngineStack, step: (n: number, run: () => Promise<unknown>) => Promise<unknown>): SourceStore {
  const real = stack.services.sources;
  const wrapped = Object.create(real) as SourceStore;
  let transitions = 0;
  wrapped.transition = <T>(id: string, now: Date, decide: Parameters<SourceStore['transition']>[2]) =>
    step(++transitions, () => real.transition(id, now, decide)) as Promise<T>;
  return wrapped;
}

/** A production runner over the stack's services, with its own store and settings (no tail looks); `clock` replaces the stack's for leases and passes. */
export function runnerWith(stack: EngineStack, sources: SourceStore, settings: { leaseMs: number; passBudgetMs: number; fetchBatchSize: number; budgetClock?: Clock; clock?: Clock }): SyncRunner {
  const { runner: _unused, ...deps } = stack.services;
  return new SyncRunner({ ...deps, ...settings, sources, taskRule: stack.config.taskRule, followUps: null });
}

/** The passes a stack's runner logged (`gmail sync finished` / `calendar sync finished`) for a source. */
export function loggedPasses(stack: Pick<EngineStack, 'logLines'>, sourceId: string, type: 'gmail' | 'calendar'): { trigger: string; counts: Record<string, number>; durationMs: number }[] {
  return stack.logLines
    .map((line) => JSON.parse(line) as { message?: string; sourceId?: string; trigger: string; counts: Record<string, number>; durationMs: number })
    .filter((line) => line.message === `${type} sync finished` && line.sourceId === sourceId);
}

/**
 * A resync a push began waits out the read-after-push lag before it walks (gmail/read-lag.ts):
 * its start is moved that far into the past, not waited for, so the next trigger walks.
 */
export async function resyncLagPassed(stack: EngineStack, sourceId: string): Promise<void> {
  // A run the test did not await may have begun the walk, or not yet: only a waiting walk moves.
  const earlier = (at: Date) => new Date(at.getTime() - LAG_SPAN_MS);
  await stack.services.sources.update(sourceId, new Date(), (source) => {
    if (source.gmailResync === null) return {};
    // The lease kept while the walk waits moves with it.
    const lease = source.lease?.owner === WALK_WAIT_OWNER ? { lease: { ...source.lease, until: earlier(source.lease.until) } } : {};
    return { gmailResync: { ...source.gmailResync, startedAt: earlier(source.gmailResync.startedAt) }, ...lease };
  });
}
