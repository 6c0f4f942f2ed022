/**
 * Registers every function with the Functions Framework. Configuration is validated here, at
 * start-up, so a bad deployment fails at once with every bad variable named; clients are
 * built on first use.
 */
import { cloudEvent, http } from '@google-cloud/functions-framework';
import { parseConfig } from './config';
import { calendarPushHandler } from './entry/calendar-push';
import { gmailPushHandler } from './entry/gmail-push';
import { registerWatchHandler } from './entry/register-watch';
import { buildServices, lazy } from './entry/services';
import { syncWorkerHandler } from './entry/sync-worker';

const config = parseConfig();
const services = lazy(() => buildServices(config));

cloudEvent('gmailPush', gmailPushHandler(services));
cloudEvent('syncWorker', syncWorkerHandler(services));
http('calendarPush', calendarPushHandler(services));
http('registerWatch', registerWatchHandler(services));
