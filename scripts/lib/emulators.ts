import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

/**
 * Starts the Firestore and Pub/Sub emulators from the installed Google Cloud CLI, and the
 * Firebase Auth emulator from firebase-tools (a root devDependency; offline, no UI), on free
 * loopback ports, and stops them (their whole process groups) on exit, failure or Ctrl-C.
 * Shared by the test runner and the local stack.
 */

export class MissingPrerequisiteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingPrerequisiteError';
  }
}

const INSTALL_HINT =
  'Install Java 17+ and the Google Cloud CLI with its emulator components:\n' +
  '  gcloud components install cloud-firestore-emulator pubsub-emulator beta\n' +
  '  (Debian/apt installs: apt-get install google-cloud-cli-firestore-emulator google-cloud-cli-pubsub-emulator)';

function which(command: string): string | null {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : null;
}

/** Fails fast, naming what to install, instead of hanging on a missing emulator. */
export function checkEmulatorPrerequisites(): void {
  const missing: string[] = [];
  if (!which('java')) missing.push('java (Java 17 or newer) is not on PATH');
  const gcloud = which('gcloud');
  if (!gcloud) {
    missing.push('gcloud (the Google Cloud CLI) is not on PATH');
  } else {
    const platform = join(dirname(realpathSync(gcloud)), '..', 'platform');
    if (!existsSync(join(platform, 'cloud-firestore-emulator')))
      missing.push(`the Firestore emulator component is not installed (looked in ${platform})`);
    if (!existsSync(join(platform, 'pubsub-emulator')))
      missing.push(`the Pub/Sub emulator component is not installed (looked in ${platform})`);
  }
  if (missing.length > 0) {
    throw new MissingPrerequisiteError(`Cannot start the emulators:\n  - ${missing.join('\n  - ')}\n${INSTALL_HINT}`);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function waitUntilReady(name: string, url: string, child: ChildProcess, log: () => string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}:\n${log()}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} did not answer at ${url} within ${timeoutMs / 1000} s:\n${log()}`);
}

export interface RunningEmulators {
  projectId: string;
  firestoreHost: string;
  pubsubHost: string;
  authHost: string;
  /** The variables the Google client libraries read to find the emulators. */
  env: Record<string, string>;
  stop(): void;
}

function startOne(name: string, args: string[], command = 'gcloud'): { child: ChildProcess; log: () => string } {
  // A process group of its own, so that stopping it also stops the JVM that gcloud starts.
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (error) => {
    output += `\n${name}: ${error.message}`;
  });
  return { child, log: () => output };
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

/**
 * The Firebase Auth emulator: its own firebase.json in a temporary directory (the repo's
 * stays for the rules), every port it reserves chosen free so parallel runs do not collide.
 */
async function startAuthEmulator(projectId: string): Promise<{ host: string; child: ChildProcess; log: () => string; cleanup: () => void }> {
  const firebase = join(__dirname, '..', '..', 'node_modules', '.bin', 'firebase');
  if (!existsSync(firebase)) throw new MissingPrerequisiteError('firebase-tools is not installed (run npm install): the Firebase Auth emulator comes from it');
  const [auth, hub, logging] = [await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'auth-emulator-'));
  const config = join(dir, 'firebase.json');
  writeFileSync(config, JSON.stringify({
    emulators: { auth: { host: '127.0.0.1', port: auth }, hub: { host: '127.0.0.1', port: hub }, logging: { host: '127.0.0.1', port: logging }, ui: { enabled: false }, singleProjectMode: true },
  }));
  const started = startOne('Firebase Auth emulator', ['emulators:start', '--only', 'auth', '--project', projectId, '--config', config], firebase);
  return { host: `127.0.0.1:${auth}`, ...started, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startEmulators(options: { projectId: string; timeoutMs?: number }): Promise<RunningEmulators> {
  checkEmulatorPrerequisites();
  // A start-up bound, not a latency check: on a loaded 2-core machine the Auth emulator (a
  // Node program) has taken over a minute to answer.
  const timeoutMs = options.timeoutMs ?? 180_000;
  const [firestorePort, pubsubPort] = [await freePort(), await freePort()];
  const firestoreHost = `127.0.0.1:${firestorePort}`;
  const pubsubHost = `127.0.0.1:${pubsubPort}`;
  const auth = await startAuthEmulator(options.projectId);

  const firestore = startOne('Firestore emulator', [
    'emulators', 'firestore', 'start', `--host-port=${firestoreHost}`, '--quiet',
  ]);
  const pubsub = startOne('Pub/Sub emulator', [
    'beta', 'emulators', 'pubsub', 'start', `--host-port=${pubsubHost}`, `--project=${options.projectId}`, '--quiet',
  ]);
  const children = [firestore.child, pubsub.child, auth.child];
  let stopping = false;
  // An emulator that dies mid-run fails the tests that need it with "connection refused": say
  // which one, and what it last printed.
  for (const [name, started] of [['Firestore emulator', firestore], ['Pub/Sub emulator', pubsub], ['Firebase Auth emulator', auth]] as const) {
    started.child.once('exit', (code, signal) => {
      if (!stopping) process.stderr.write(`\n${name} exited during the run (code ${code}, signal ${signal}); its last output:\n${started.log()}\n`);
    });
  }
  const stop = () => {
    stopping = true;
    children.forEach(killGroup);
    auth.cleanup();
  };
  process.once('exit', stop);

  try {
    await Promise.all([
      waitUntilReady('Firestore emulator', `http://${firestoreHost}/`, firestore.child, firestore.log, timeoutMs),
      waitUntilReady('Pub/Sub emulator', `http://${pubsubHost}/`, pubsub.child, pubsub.log, timeoutMs),
      waitUntilReady('Firebase Auth emulator', `http://${auth.host}/`, auth.child, auth.log, timeoutMs),
    ]);
  } catch (error) {
    stop();
    throw error;
  }
  return {
    projectId: options.projectId,
    firestoreHost,
    pubsubHost,
    authHost: auth.host,
    env: {
      FIRESTORE_EMULATOR_HOST: firestoreHost,
      PUBSUB_EMULATOR_HOST: pubsubHost,
      FIREBASE_AUTH_EMULATOR_HOST: auth.host,
      GOOGLE_CLOUD_PROJECT: options.projectId,
      // Outside Google Cloud the libraries otherwise probe the metadata server.
      METADATA_SERVER_DETECTION: 'none',
    },
    stop,
  };
}
