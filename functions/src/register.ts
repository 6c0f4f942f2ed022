import { cloudEvent, http, type CloudEvent, type Request, type Response } from '@google-cloud/functions-framework';
import { auditCompletenessHandler } from './entry/audit-completeness';
import { calendarPushHandler } from './entry/calendar-push';
import { connectHandler } from './entry/connect';
import { fallbackPollHandler } from './entry/fallback-poll';
import { gmailFollowUpHandler } from './entry/gmail-follow-up';
import { gmailPushHandler } from './entry/gmail-push';
import { publishChangesHandler } from './entry/publish-changes';
import { pruneRetentionHandler } from './entry/prune-retention';
import { registerWatchHandler } from './entry/register-watch';
import { renewWatchesHandler } from './entry/renew-watches';
import type { Services } from './entry/services';
import { withTrace } from './logging';
import { LOG_EVENTS } from './observability/log-events';
import { sourceStatusHandler } from './entry/source-status';
import { syncWorkerHandler } from './entry/sync-worker';
import { traceFromEvent, traceFromHeaders } from './trace';

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
  publishChanges: 'http',
  auditCompleteness: 'http',
  sourceStatus: 'http',
  connect: 'http',
  connectCallback: 'http',
} as const;
export type FunctionName = keyof typeof FUNCTIONS;

type HttpHandler = (req: Request, res: Response) => Promise<void>;
type EventHandler = (event: CloudEvent<unknown>) => Promise<void>;

/**
 * Headers on every response: nothing is to be sniffed, framed, or followed with a Referer;
 * the status page replaces the CSP with its own.
 */
export const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
} as const;

/**
 * An error no handler expected becomes a JSON 500 that names nothing (the Functions Framework
 * would send its message as HTML unless NODE_ENV=production); the log keeps its class only.
 */
function guarded(services: () => Services, handler: HttpHandler): HttpHandler {
  return async (req, res) => {
    res.set(SECURITY_HEADERS);
    try {
      await handler(req, res);
    } catch (error) {
      unexpectedError(services, error);
      if (!res.headersSent) res.status(500).json({ error: 'internal error' });
    }
  };
}

function unexpectedError(services: () => Services, error: unknown): void {
  const errorClass = error instanceof Error ? error.name : typeof error;
  try {
    services().logger.error(LOG_EVENTS.requestFailedUnexpectedly, { errorClass });
  } catch {
    process.stderr.write(`${JSON.stringify({ severity: 'ERROR', message: 'request failed unexpectedly', errorClass })}\n`);
  }
}

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
    publishChanges: publishChangesHandler(services),
    auditCompleteness: auditCompletenessHandler(services),
    sourceStatus: sourceStatusHandler(services),
    // Public, each route verifies its caller (Firebase ID token, or an allowed server's
    // Google ID token). The callback apart: it runs as an account that may only encrypt.
    connect: connectHandler(services, ['start', 'link', 'confirm', 'disconnect', 'sources', 'rules', 'labels', 'calendars']),
    connectCallback: connectHandler(services, ['callback']),
  };
  // Every log line of an invocation carries its trace (Logs Explorer groups them).
  const projectId = () => services().config.projectId;
  const tracedEvent = (handler: EventHandler): EventHandler => (event) => withTrace(projectId(), traceFromEvent(event), () => handler(event));
  const tracedHttp = (handler: HttpHandler): HttpHandler => (req, res) => withTrace(projectId(), traceFromHeaders(req.headers), () => guarded(services, handler)(req, res));
  Object.entries(events).forEach(([name, handler]) => cloudEvent(name, wrap(tracedEvent(handler))));
  Object.entries(https).forEach(([name, handler]) => http(name, wrap(tracedHttp(handler))));
}
