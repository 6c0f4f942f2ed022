/**
 * `npm start`: the whole engine locally (emulators, sandbox, every function, the scheduled
 * jobs), a demo account connected through the real connect flow, and a scripted scenario
 * whose changes become tasks, each printed with its latency. Ctrl-C stops everything.
 *
 *   npm start                      run until Ctrl-C, with occasional activity
 *   npm start -- --once            run the scenario, print a summary, exit (0 = all tasks seen)
 *   npm start -- --no-demo         the stack only, for your own scripts (see .local/stack.json)
 *   npm start -- --fast            scheduled jobs 60× faster (fallback poll every 2 s)
 *   npm start -- --functions-port 8080 --sandbox-port 8081
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createFirestore } from '../functions/src/store/firestore';
import { connectThroughFlow } from './lib/connect-client';
import { emulatorSignIn, keepActive, percentile, runScenario, TaskWatcher } from './lib/demo';
import { MissingPrerequisiteError } from './lib/emulators';
import { PortInUseError } from './lib/functions-host';
import { startLocalStack, type LocalStack } from './lib/local-stack';
import { exitUnlessSupportedNode } from './lib/node-version';
import { GOOGLE_CERTS_PATH } from '../sandbox/src/identity-keys';
import { relayPushes, startEventReceiver } from './lib/event-receiver';
import { startHostPage, type HostPage } from './lib/host-page';

exitUnlessSupportedNode();

// SYNC_LOCAL_DIR lets tests keep their stack description apart from a developer's.
const LOCAL_DIR = process.env.SYNC_LOCAL_DIR ?? join(process.cwd(), '.local');
const STACK_FILE = join(LOCAL_DIR, 'stack.json');
const DEMO_EMAIL = 'demo@example.com';
/** The demo user's password on the local Firebase Auth emulator (status page sign-in). */
const DEMO_PASSWORD = 'demo-password';

class AlreadyRunningError extends Error {}

function parseFlags() {
  const { values } = parseArgs({
    options: {
      once: { type: 'boolean', default: false },
      'no-demo': { type: 'boolean', default: false },
      fast: { type: 'boolean', default: false },
      'functions-port': { type: 'string', default: '0' },
      'sandbox-port': { type: 'string', default: '0' },
      timeout: { type: 'string', default: '90' },
    },
  });
  const port = (name: string, raw: string) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${name} must be a port number, got "${raw}"`);
    return n;
  };
  return {
    once: values.once,
    demo: !values['no-demo'],
    cadenceScale: values.fast ? 60 : 1,
    functionsPort: port('functions-port', values['functions-port']),
    sandboxPort: port('sandbox-port', values['sandbox-port']),
    timeoutMs: Number(values.timeout) * 1000,
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One local stack per checkout: a second start says so instead of fighting over state. */
function claimStackFile(): void {
  if (existsSync(STACK_FILE)) {
    const previous = JSON.parse(readFileSync(STACK_FILE, 'utf8')) as { pid?: number; functionsUrl?: string };
    if (typeof previous.pid === 'number' && isAlive(previous.pid)) {
      throw new AlreadyRunningError(`The local stack is already running (pid ${previous.pid}, functions at ${previous.functionsUrl ?? '?'}). Stop it with Ctrl-C first, or use it: see ${STACK_FILE}.`);
    }
  }
  mkdirSync(LOCAL_DIR, { recursive: true });
  writeFileSync(STACK_FILE, JSON.stringify({ pid: process.pid, starting: true }, null, 2));
}

function writeStackFile(stack: LocalStack, hostPage: HostPage, demoUser: string | null): void {
  const description = {
    pid: process.pid,
    projectId: stack.projectId,
    firestoreEmulatorHost: stack.emulators.firestoreHost,
    pubsubEmulatorHost: stack.emulators.pubsubHost,
    sandboxUrl: stack.sandbox.url,
    functionsUrl: stack.host.url,
    statusUrl: stack.statusUrl(),
    hostAppUrl: hostPage.url,
    authEmulatorHost: stack.emulators.authHost,
    functions: Object.fromEntries(['connect', 'connectCallback', 'registerWatch', 'sourceStatus', 'calendarPush', 'fallbackPoll', 'renewWatches', 'pruneRetention'].map((n) => [n, `${stack.host.url}/${n}`])),
    demo: demoUser === null ? null : { userId: demoUser, email: DEMO_EMAIL, password: DEMO_PASSWORD },
    logFile: join(LOCAL_DIR, 'functions.log'),
  };
  writeFileSync(STACK_FILE, JSON.stringify(description, null, 2));
}

async function main(): Promise<number> {
  const flags = parseFlags();
  claimStackFile();
  const holder: { stack?: LocalStack; hostPage?: HostPage; stopReceiver?: () => Promise<void> } = {};
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    await holder.stopReceiver?.();
    await holder.hostPage?.close();
    await holder.stack?.stop();
    rmSync(STACK_FILE, { force: true });
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(130));
  process.on('SIGTERM', () => void shutdown(143));

  const started = Date.now();
  // The example host app is where the connect flow returns, so it listens before the functions are configured.
  const hostPage = await startHostPage();
  holder.hostPage = hostPage;
  const stack = await startLocalStack({
    env: { CONNECT_RETURN_URL: hostPage.url },
    functionsPort: flags.functionsPort,
    sandboxPort: flags.sandboxPort,
    logFile: join(LOCAL_DIR, 'functions.log'),
    cadenceScale: flags.cadenceScale,
    onProgress: (line) => console.log(`  … ${line}`),
  });
  holder.stack = stack;
  hostPage.configure({
    firebase: { apiKey: 'local', projectId: stack.projectId },
    emulators: { auth: stack.emulators.authHost, firestore: stack.emulators.firestoreHost },
    connectUrl: stack.host.functionUrl('connect'),
    consentUrl: stack.functionEnv.GOOGLE_OAUTH_AUTH_URL!,
    callbackUrl: stack.config.connect.redirectUrl,
  });
  writeStackFile(stack, hostPage, null);
  // The host app's side of the change stream: a receiver that verifies and prints every event.
  const receiver = await startEventReceiver({ certsUrl: `${stack.sandbox.url}${GOOGLE_CERTS_PATH}`, print: (line) => console.log(line) });
  const relay = relayPushes({ pubsubHost: stack.emulators.pubsubHost, projectId: stack.projectId, sandboxUrl: stack.sandbox.url, receiverUrl: receiver.url });
  holder.stopReceiver = async () => {
    await relay.stop();
    await receiver.close();
  };
  console.log(`\nLocal stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`  Firestore emulator   ${stack.emulators.firestoreHost}`);
  console.log(`  Pub/Sub emulator     ${stack.emulators.pubsubHost}`);
  console.log(`  Sandbox (Google)     ${stack.sandbox.url}   admin API: ${stack.sandbox.url}/_admin`);
  console.log(`  Functions            ${stack.host.url}/{name}`);
  console.log(`  Function logs        ${join(LOCAL_DIR, 'functions.log')}`);
  console.log(`  Change-stream receiver ${receiver.url}   (prints every event, ⇢; 401 on a bad token)`);
  console.log(`  Example host app     ${hostPage.url}   (sign in, connect, live tasks; built on client/; the connect flow returns here)`);
  console.log(`  Stack description    ${STACK_FILE}`);

  if (!flags.demo) {
    console.log(
      `\nNo demo (--no-demo). Sign a user up on the Auth emulator (${stack.emulators.authHost}, accounts:signUp), then POST a form ` +
        '{idToken, loginHint} to {functionsUrl}/connect/start, follow the redirects keeping the cookie, and POST {link} (from the return URL\'s #fragment) to connect/confirm ' +
        '(scripts/lib/connect-client.ts does all of it). Ctrl-C to stop.',
    );
    return new Promise(() => undefined);
  }

  await stack.admin.createAccount(DEMO_EMAIL);
  const demo = await emulatorSignIn(stack.emulators.authHost, DEMO_EMAIL, DEMO_PASSWORD);
  const demoUser = demo.uid;
  const walk = await connectThroughFlow(stack.host.functionUrl('connect'), demo.idToken, DEMO_EMAIL);
  if (walk.confirmed?.status !== 200) throw new Error(`connecting the demo account failed: ${walk.callback.status} ${JSON.stringify(walk.confirmed?.body ?? null)}`);
  writeStackFile(stack, hostPage, demoUser);
  console.log(`\nDemo account ${DEMO_EMAIL} connected through the connect flow (signed-in user ${demoUser}).`);
  console.log(`  Status page          ${stack.statusUrl()}`);
  console.log(`  Sign in there as     ${DEMO_EMAIL} / ${DEMO_PASSWORD}   (local Firebase Auth emulator; the example host app too)\n`);

  const db = createFirestore(stack.projectId);
  const watcher = new TaskWatcher(db, demoUser, (o) => console.log(`  ✓ ${o.label.padEnd(52)} ${String(o.latencyMs).padStart(5)} ms`));
  watcher.start();
  // The watch's own first notification uses this second of Gmail's 1/s budget.
  await new Promise((r) => setTimeout(r, 1100));
  await runScenario(stack.admin, DEMO_EMAIL, watcher);
  const complete = await watcher.settled(flags.timeoutMs);

  const latencies = watcher.observed.map((o) => o.latencyMs);
  const tasks = (await db.collection(`users/${demoUser}/tasks`).get()).size;
  const summary = `Summary: ${tasks} tasks, ${watcher.observed.length} changes seen, latency p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms`;
  if (flags.once) {
    console.log(`\n${summary}`);
    if (!complete) console.error(`Timed out waiting for: ${watcher.outstanding.join('; ')}`);
    watcher.stop();
    await db.terminate();
    await shutdown(complete ? 0 : 1);
    return complete ? 0 : 1;
  }
  console.log(`\n${summary}\nKeeping the demo account busy every ~10 s; Ctrl-C to stop.\n`);
  await keepActive(stack.admin, DEMO_EMAIL, watcher, () => stopping);
  return 0;
}

main().catch((error: unknown) => {
  const known = error instanceof MissingPrerequisiteError || error instanceof PortInUseError || error instanceof AlreadyRunningError;
  console.error(known ? `\n${error.message}` : error);
  if (!(error instanceof AlreadyRunningError)) rmSync(STACK_FILE, { force: true });
  process.exit(1);
});
