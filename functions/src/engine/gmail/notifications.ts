import type { Clock, Logger } from '../ports';
import type { SourceStore } from '../source/ports';
import type { Runner, RunOutcome } from '../runner/runner';
import { LOG_EVENTS } from '../../observability/log-events';

export interface GmailNotification {
  emailAddress: string;
  historyId: string;
}

/**
 * A Gmail push names a mailbox, not a source: every source connected to that address (two
 * users may connect the same account) gets the work. Throws if any source's run failed
 * transiently, so Pub/Sub redelivers; the others' work is already done or recorded.
 */
export async function handleGmailNotification(
  deps: { sources: SourceStore; runner: Runner; clock: Clock; logger: Logger },
  notification: GmailNotification,
): Promise<Record<string, RunOutcome>> {
  const sources = await deps.sources.findByEmail(notification.emailAddress);
  if (sources.length === 0) {
    deps.logger.warn(LOG_EVENTS.gmailNotificationUnknownMailbox, { historyId: notification.historyId });
    return {};
  }
  const pushAt = deps.clock.now();
  const results = await Promise.allSettled(
    // Queries are strongly consistent: the runner need not read the source again.
    sources.map((s) => deps.runner.run(s.id, { kind: 'announced', trigger: 'push', work: { gmail: notification.historyId, calendar: false }, pushAt, source: s })),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return Object.fromEntries(sources.map((s, i) => [s.id, (results[i] as PromiseFulfilledResult<RunOutcome>).value]));
}
