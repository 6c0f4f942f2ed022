import { cloudEvent, http, type CloudEvent, type Request, type Response } from '@google-cloud/functions-framework';
import { calendarPushHandler } from './entry/calendar-push';
import { connectHandler } from './entry/connect';
import { fallbackPollHandler } from './entry/fallback-poll';
import { gmailFollowUpHandler } from './entry/gmail-follow-up';
import { gmailPushHandler } from './entry/gmail-push';
import { pruneRetentionHandler } from './entry/prune-retention';
import { registerWatchHandler } from './entry/register-watch';
import { renewWatchesHandler } from './entry/renew-watches';
import type { Services } from './entry/services';
import { sourceStatusHandler } from './entry/source-status';
import { syncWorkerHandler } from './entry/sync-worker';

/**
 * Every function, its trigger and its handler: the one list that index.ts, the local stack,
 * the tests and the deployment checks share.
 */
export const FUNCTIONS = {
  gmailPush: 'event',
  syncWorker: 'event',
  calendarPush: 'http',
  gmailFollowUp: 'http',
  registerWatch: 'http',
  renewWatches: 'http',
  fallbackPoll: 'http',
  pruneRetention: 'http',
  sourceStatus: 'http',
  connect: 'http',
  connectCallback: 'http',
} as const;
export type FunctionName = keyof typeof FUNCTIONS;

type HttpHandler = (req: Request, res: Response) => Promise<void>;
type EventHandler = (event: CloudEvent<unknown>) => Promise<void>;

/** Lets a host observe invocations (the tests wait for running ones before shutting down). */
export type Wrap = <A extends unknown[]>(handler: (...args: A) => Promise<void>) => (...args: A) => Promise<void>;

export function registerFunctions(services: () => Services, wrap: Wrap = (h) => h): void {
  const events: Record<string, EventHandler> = {
    gmailPush: gmailPushHandler(services),
    syncWorker: syncWorkerHandler(services),
  };
  const https: Record<string, HttpHandler> = {
    calendarPush: calendarPushHandler(services),
    // Private (IAM): only the follow-up queue's invoker account may call it.
    gmailFollowUp: gmailFollowUpHandler(services),
    registerWatch: registerWatchHandler(services),
    renewWatches: renewWatchesHandler(services),
    fallbackPoll: fallbackPollHandler(services),
    pruneRetention: pruneRetentionHandler(services),
    sourceStatus: sourceStatusHandler(services),
    // Private (IAM): start and disconnect. Public: only the browser-facing OAuth callback.
    connect: connectHandler(services, ['start', 'disconnect']),
    connectCallback: connectHandler(services, ['callback']),
  };
  Object.entries(events).forEach(([name, handler]) => cloudEvent(name, wrap(handler)));
  Object.entries(https).forEach(([name, handler]) => http(name, wrap(handler)));
}
