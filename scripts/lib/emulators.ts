import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

/**
 * Starts the Firestore and Pub/Sub emulators from the installed Google Cloud CLI on free
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
  /** The variables the Google client libraries read to find the emulators. */
  env: Record<string, string>;
  stop(): void;
}

function startOne(name: string, args: string[]): { child: ChildProcess; log: () => string } {
  // A process group of its own, so that stopping it also stops the JVM that gcloud starts.
  const child = spawn('gcloud', args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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

export async function startEmulators(options: { projectId: string; timeoutMs?: number }): Promise<RunningEmulators> {
  checkEmulatorPrerequisites();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const [firestorePort, pubsubPort] = [await freePort(), await freePort()];
  const firestoreHost = `127.0.0.1:${firestorePort}`;
  const pubsubHost = `127.0.0.1:${pubsubPort}`;

  const firestore = startOne('Firestore emulator', [
    'emulators', 'firestore', 'start', `--host-port=${firestoreHost}`, '--quiet',
  ]);
  const pubsub = startOne('Pub/Sub emulator', [
    'beta', 'emulators', 'pubsub', 'start', `--host-port=${pubsubHost}`, `--project=${options.projectId}`, '--quiet',
  ]);
  const children = [firestore.child, pubsub.child];
  const stop = () => children.forEach(killGroup);
  process.once('exit', stop);

  try {
    await Promise.all([
      waitUntilReady('Firestore emulator', `http://${firestoreHost}/`, firestore.child, firestore.log, timeoutMs),
      waitUntilReady('Pub/Sub emulator', `http://${pubsubHost}/`, pubsub.child, pubsub.log, timeoutMs),
    ]);
  } catch (error) {
    stop();
    throw error;
  }
  return {
    projectId: options.projectId,
    firestoreHost,
    pubsubHost,
    env: {
      FIRESTORE_EMULATOR_HOST: firestoreHost,
      PUBSUB_EMULATOR_HOST: pubsubHost,
      GOOGLE_CLOUD_PROJECT: options.projectId,
      // Outside Google Cloud the libraries otherwise probe the metadata server.
      METADATA_SERVER_DETECTION: 'none',
    },
    stop,
  };
}
