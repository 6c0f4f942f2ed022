/**
 * Registers every function with the Functions Framework. Configuration is validated here, at
 * start-up, so a bad deployment fails at once with every bad variable named; clients are
 * built on first use.
 */
import { cloudEvent, http } from '@google-cloud/functions-framework';
import { parseConfig } from './config';
import { calendarPushHandler } from './entry/calendar-push';
import { connectHandler } from './entry/connect';
import { fallbackPollHandler } from './entry/fallback-poll';
import { gmailPushHandler } from './entry/gmail-push';
import { pruneRetentionHandler } from './entry/prune-retention';
import { registerWatchHandler } from './entry/register-watch';
import { renewWatchesHandler } from './entry/renew-watches';
import { buildServices, lazy } from './entry/services';
import { sourceStatusHandler } from './entry/source-status';
import { syncWorkerHandler } from './entry/sync-worker';

const config = parseConfig();
const services = lazy(() => buildServices(config));

cloudEvent('gmailPush', gmailPushHandler(services));
cloudEvent('syncWorker', syncWorkerHandler(services));
http('calendarPush', calendarPushHandler(services));
http('registerWatch', registerWatchHandler(services));
http('renewWatches', renewWatchesHandler(services));
http('fallbackPoll', fallbackPollHandler(services));
http('pruneRetention', pruneRetentionHandler(services));
http('sourceStatus', sourceStatusHandler(services));
// Private (IAM): start and disconnect. Public: only the browser-facing OAuth callback.
http('connect', connectHandler(services, ['start', 'disconnect']));
http('connectCallback', connectHandler(services, ['callback']));
