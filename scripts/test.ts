/**
 * `npm test`: starts the Firestore and Pub/Sub emulators, runs every jest project against
 * them, and stops them at the end, also on failure or Ctrl-C. Extra arguments go to jest.
 */
import { spawn } from 'node:child_process';
import { MissingPrerequisiteError, startEmulators } from './lib/emulators';
import { exitUnlessSupportedNode } from './lib/node-version';

exitUnlessSupportedNode();

async function main(): Promise<number> {
  const started = Date.now();
  process.stdout.write('Starting the Firestore, Pub/Sub and Firebase Auth emulators... ');
  const emulators = await startEmulators({ projectId: 'demo-sync-engine-test' });
  console.log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s (Firestore ${emulators.firestoreHost}, Pub/Sub ${emulators.pubsubHost}, Auth ${emulators.authHost})`);

  const forward = (signal: NodeJS.Signals) => {
    emulators.stop();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', forward);
  process.once('SIGTERM', forward);

  try {
    const jest = spawn(process.execPath, [require.resolve('jest/bin/jest'), ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, ...emulators.env },
    });
    return await new Promise<number>((resolve) => jest.on('exit', (code) => resolve(code ?? 1)));
  } finally {
    emulators.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof MissingPrerequisiteError ? `\n${error.message}` : error);
    process.exit(1);
  },
);
