/**
 * The tail look after a Gmail push. Gmail announces at most one change a second per mailbox
 * and drops the rest, so a pass that listed history less than a second after the announced
 * change may have missed changes made later in that second, whose notifications never come.
 * Such a pass asks for one more look just after the second is over — scheduled, never slept.
 */

export interface FollowUpScheduler {
  /** Asks for a Gmail look at the source at `at`; a second request for the same second collapses. */
  schedule(sourceId: string, at: Date): Promise<'scheduled' | 'duplicate'>;
}

/** Gmail's notification interval per mailbox. */
export const GMAIL_NOTIFICATION_INTERVAL_MS = 1000;
/** The look comes this long after the announcement: the interval plus a margin for clock skew. */
export const FOLLOW_UP_DELAY_MS = 1100;

/**
 * When a look is due, or `null`: only after a pass that found changes, for work a push
 * announced (`announcedAt`), when the pass started listing before the interval was over.
 * The pass's start is used, not its end: history is listed after the start.
 */
export function followUpAt(pass: { startedAt: Date; historyRecords: number }, announcedAt: Date | null): Date | null {
  if (announcedAt === null || pass.historyRecords === 0) return null;
  if (pass.startedAt.getTime() - announcedAt.getTime() >= GMAIL_NOTIFICATION_INTERVAL_MS) return null;
  return new Date(announcedAt.getTime() + FOLLOW_UP_DELAY_MS);
}
