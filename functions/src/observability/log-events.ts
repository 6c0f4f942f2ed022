/**
 * Every message the functions log, by name. Messages are a contract: the log-based metrics and
 * alerts (scripts/deploy/monitoring.ts) filter on them, so a message is changed here, where a
 * test checks that each one is still logged and that every filter names one of them.
 * Dependency-free, so the engine, the adapters and the deploy scripts can all import it.
 */

/** The source types, as the runner names them in its per-type messages. */
export const LOGGED_SOURCE_TYPES = ['gmail', 'calendar'] as const;
type SourceType = (typeof LOGGED_SOURCE_TYPES)[number];

export const LOG_EVENTS = {
  // The sync runner.
  syncFinished: (type: SourceType) => `${type} sync finished` as const,
  syncFailed: (type: SourceType) => `${type} sync failed` as const,
  syncStoppedWithoutCredentials: (type: SourceType) => `${type} sync stopped: no usable credentials` as const,
  sourceStatusChanged: 'source status changed',
  leaseLost: 'lease lost to a successor; it owns the work now',
  passOutlivedLease: 'a pass outlived its lease; its work was given back',
  followUpScheduled: 'gmail follow-up',
  followUpNotScheduled: 'gmail follow-up not scheduled',
  gmailLagLookScheduled: 'gmail read lag: look scheduled',
  calendarLagLookScheduled: 'calendar read lag: look scheduled',
  gmailWalkLookEarly: 'gmail walk look came before the walk may start; asked for again',
  gmailUnreadableTreatedAsDeleted: 'gmail messages still unreadable after the retries, treated as deleted',
  credentialsUnreadable: 'stored Google credentials no longer decrypt; the source needs a reconnect',

  // Pushes and requests arriving.
  requestFailedUnexpectedly: 'request failed unexpectedly',
  gmailNotificationUnknownMailbox: 'Gmail notification for an unknown mailbox',
  gmailNotificationStale: 'Dropping a stale Gmail notification',
  gmailNotificationMalformed: 'Ignoring a malformed Gmail notification',
  calendarPushRejected: 'Rejected a Calendar push',
  calendarPushAccepted: 'Calendar push accepted',
  syncRequestStale: 'Dropping a stale sync request',
  syncRequestMalformed: 'Ignoring a malformed sync request',
  syncRequestHandled: 'sync request handled',
  auditRequestHandled: 'audit request handled',
  followUpHandled: 'gmail follow-up handled',
  followUpFailed: 'gmail follow-up failed, Cloud Tasks retries it',

  // Watches.
  watchesRegistered: 'watches registered',
  watchRegistrationFailed: 'watch registration failed',
  watchesRenewed: 'watches renewed',
  calendarListChecked: 'calendar list checked',

  // Scheduled jobs and the completeness audit.
  renewalFannedOut: 'renewWatches fanned out',
  pollFannedOut: 'fallbackPoll fanned out',
  auditFannedOut: 'auditCompleteness fanned out',
  pruneFinished: 'pruneRetention finished',
  changesPublishFailed: 'change events not published; publishChanges retries them',
  changesSwept: 'publishChanges finished',
  auditFinished: 'audit finished',
  auditSkipped: 'audit skipped',
  auditRepairedTwice: 'audit repaired twice in a row',

  // Connecting and disconnecting accounts.
  connectStarted: 'connect started',
  connectStartRefused: 'connect start refused',
  connectCallbackRefused: 'connect callback refused',
  connectDeclineRefused: 'connect decline refused',
  connectGrantStaged: 'connect grant staged',
  accountConnected: 'account connected',
  accountDisconnected: 'account disconnected',
  gmailRuleReplaced: 'gmail intake rule replaced',
} as const;

type Catalogue = typeof LOG_EVENTS;
/** A message of the catalogue: what a log-based metric may filter on. */
export type LogMessage = { [K in keyof Catalogue]: Catalogue[K] extends (type: SourceType) => infer M ? M : Catalogue[K] }[keyof Catalogue];

/** Every message the catalogue can produce, per-type ones once for each source type. */
export function catalogueMessages(): { name: keyof Catalogue; message: LogMessage }[] {
  return (Object.keys(LOG_EVENTS) as (keyof Catalogue)[]).flatMap((name) => {
    const event: Catalogue[keyof Catalogue] = LOG_EVENTS[name];
    const messages: LogMessage[] = typeof event === 'function' ? LOGGED_SOURCE_TYPES.map(event) : [event];
    return messages.map((message) => ({ name, message }));
  });
}
