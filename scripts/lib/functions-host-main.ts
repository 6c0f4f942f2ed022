/**
 * The functions host as a process of its own, so that the soak can kill it mid-sync
 * (SIGKILL, no goodbye) and start it again, and the benchmark can run two of them as two
 * instances. Configuration comes from the environment, as in Cloud Functions;
 * SYNC_HOST_PORT, SYNC_LOG_FILE, SYNC_CLOCK_OFFSET_MS, SYNC_RUNNER (`per_notification`)
 * and SYNC_STATS (answer `stats` / `reset` IPC messages) are the host's own.
 */
import { appendFileSync } from 'node:fs';
import { parseConfig } from '../../functions/src/config';
import { buildServices } from '../../functions/src/entry/services';
import { createLogger } from '../../functions/src/logging';
import { CountingRunner } from '../bench/counting-runner';
import { countFirestoreOps } from '../bench/firestore-ops';
import { PerNotificationRunner } from '../bench/per-notification-runner';
import { startFunctionsHost } from './functions-host';

const port = Number(process.env.SYNC_HOST_PORT ?? '0');
const offsetMs = Number(process.env.SYNC_CLOCK_OFFSET_MS ?? '0');
const logFile = process.env.SYNC_LOG_FILE;
const config = parseConfig();
const built = buildServices(config, {
  clock: { now: () => new Date(Date.now() + offsetMs) },
  ...(logFile && { logger: createLogger((line) => appendFileSync(logFile, `${line}\n`)) }),
});
const runner = new CountingRunner(process.env.SYNC_RUNNER === 'per_notification' ? new PerNotificationRunner(built) : built.runner);
const services = { ...built, runner };

if (process.env.SYNC_STATS === '1' && process.send) {
  const ops = countFirestoreOps(built.db);
  process.on('message', (message) => {
    if (message === 'reset') {
      ops.reads = 0;
      ops.writes = 0;
      runner.reset();
    }
    process.send!({ reads: ops.reads, writes: ops.writes, outcomes: runner.outcomes });
  });
}

const requestLog = logFile ? (line: string) => appendFileSync(logFile, `${line}\n`) : undefined;
startFunctionsHost(() => services, port, undefined, requestLog).then(
  (host) => console.log(`ready ${host.url}`),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
