/**
 * The functions host as a process of its own, so that the soak can kill it mid-sync
 * (SIGKILL, no goodbye) and start it again. Configuration comes from the environment, as in
 * Cloud Functions; SYNC_HOST_PORT, SYNC_LOG_FILE and SYNC_CLOCK_OFFSET_MS are the host's own.
 */
import { appendFileSync } from 'node:fs';
import { parseConfig } from '../../functions/src/config';
import { buildServices } from '../../functions/src/entry/services';
import { createLogger } from '../../functions/src/logging';
import { startFunctionsHost } from './functions-host';

const port = Number(process.env.SYNC_HOST_PORT ?? '0');
const offsetMs = Number(process.env.SYNC_CLOCK_OFFSET_MS ?? '0');
const logFile = process.env.SYNC_LOG_FILE;
const config = parseConfig();
const services = buildServices(config, {
  clock: { now: () => new Date(Date.now() + offsetMs) },
  ...(logFile && { logger: createLogger((line) => appendFileSync(logFile, `${line}\n`)) }),
});
const requestLog = logFile ? (line: string) => appendFileSync(logFile, `${line}\n`) : undefined;
startFunctionsHost(() => services, port, undefined, requestLog).then(
  (host) => console.log(`ready ${host.url}`),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
