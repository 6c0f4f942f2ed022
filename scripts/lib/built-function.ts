import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { FUNCTIONS, type FunctionName } from '../../functions/src/register';
import { freePort } from './emulators';

/** The Functions Framework's CLI (its package exports no path to it). */
const FRAMEWORK_MAIN = join(__dirname, '../../node_modules/@google-cloud/functions-framework/build/src/main.js');
const BUILT_PACKAGE = join(__dirname, '../../functions/lib');

/**
 * One function of the built package (`npm run build`: `functions/lib`) in a process of its
 * own, started by the Functions Framework's CLI as Cloud Functions starts it. Returns at once:
 * the caller decides how long to wait for it to listen.
 */
export async function spawnBuiltFunction(target: FunctionName, env: NodeJS.ProcessEnv): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const signature = FUNCTIONS[target] === 'event' ? 'cloudevent' : 'http';
  const child = spawn(process.execPath, [FRAMEWORK_MAIN, `--target=${target}`, `--signature-type=${signature}`, `--source=${BUILT_PACKAGE}`, `--port=${port}`], {
    env: { ...env, METADATA_SERVER_DETECTION: 'none' },
    stdio: 'ignore',
  });
  return { url: `http://127.0.0.1:${port}`, child };
}
