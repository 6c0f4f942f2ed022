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
import { countFirestoreDeletes, countFirestoreOps } from '../bench/firestore-ops';
import { PerNotificationRunner } from '../bench/per-notification-runner';
import { UsageMeter } from '../bench/usage';
import { buildManifest } from '../deploy/manifest';
import { CloudTasksFollowUps } from '../../functions/src/tasks/follow-up-queue';
import { startFunctionsHost } from './functions-host';

const port = Number(process.env.SYNC_HOST_PORT ?? '0');
const offsetMs = Number(process.env.SYNC_CLOCK_OFFSET_MS ?? '0');
const logFile = process.env.SYNC_LOG_FILE;
const config = parseConfig();
const stats = process.env.SYNC_STATS === '1' && process.send ? new UsageMeter() : null;
const write = logFile ? (line: string) => appendFileSync(logFile, `${line}\n`) : (line: string) => process.stdout.write(`${line}\n`);
const built = buildServices(config, {
  clock: { now: () => new Date(Date.now() + offsetMs) },
  ...((logFile || stats) && {
    logger: createLogger(
      (line) => {
        stats?.logLine(line);
        write(line);
      },
      {},
      config.logLevel,
    ),
  }),
  ...(stats && config.followUps && { followUps: stats.countFollowUps(new CloudTasksFollowUps(config.followUps)) }),
});
stats?.install(built);
const runner = new CountingRunner(process.env.SYNC_RUNNER === 'per_notification' ? new PerNotificationRunner(built) : built.runner);
const services = { ...built, runner };

if (stats) {
  const ops = countFirestoreOps(built.db);
  const deletes = countFirestoreDeletes(built.db, buildManifest().ttl.map((t) => t.collection));
  process.on('message', (message) => {
    if (message === 'reset') {
      Object.assign(ops, { reads: 0, writes: 0 });
      Object.assign(deletes, { deletes: 0, ttlWrites: 0 });
      runner.reset();
      stats.reset();
    }
    process.send!({ ...ops, ...deletes, outcomes: runner.outcomes, usage: stats.usage(), flow: stats.flow() });
  });
}

const requestLog =
  logFile || stats
    ? (line: string) => {
        stats?.requestLogLine(line);
        if (logFile) appendFileSync(logFile, `${line}\n`);
      }
    : undefined;
startFunctionsHost(() => services, port, undefined, requestLog, stats?.observe).then(
  (host) => console.log(`ready ${host.url}`),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
