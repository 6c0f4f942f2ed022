import { decidingLabel, ruleOf } from '../gmail/rule';
import type { Source } from '../model';

/**
 * The tail look after a Gmail pass. Gmail announces at most one change a second per mailbox
 * and drops the rest, so a pass that found changes may have listed history less than a second
 * after one of them — announced or not, and whatever push the pass was for — and missed changes
 * made later in that second, whose notifications never come. Such a pass asks for one more look
 * once every change it found is more than a second old: scheduled, never slept. A look that
 * finds changes asks for another; one that finds nothing ends the chain.
 */

/**
 * Where the pass that asked for a look got to: the history id of its last page and the
 * credentials it used. A look from there needs no read of the source on an instance that
 * still holds a client for those credentials.
 */
export interface LookFrom {
  historyId: string;
  credentialsAt: Date;
  /** The label the pass's history was filtered on (its rule's deciding label): the look asks the same. */
  labelId: string;
  /** A look at work that lagged its push (gmail/read-lag.ts): which retry this is. */
  retry?: number;
  /** The look that starts a walk waiting out the lag: when the walk may start, by the engine's clock. */
  walkAt?: Date;
}

/** Where a look after a pass over the source that reached `cursor` starts (`null`: from the stored cursor). */
export function lookFromPass(source: Pick<Source, 'credentialsAt' | 'gmailRule'>, cursor: string | null): LookFrom | null {
  if (cursor === null || source.credentialsAt === null) return null;
  return { historyId: cursor, credentialsAt: source.credentialsAt, labelId: decidingLabel(ruleOf(source)) };
}

/** A look at calendars whose push-named listing showed nothing (read-after-push lag): which, and which retry. */
export interface CalendarLook {
  calendars: string[];
  retry: number;
}

export interface FollowUpScheduler {
  /**
   * Asks for a Gmail look at the source at `at`; a second request for the same `at` collapses
   * (the first one's `from` wins), except for a walk's look (`from.walkAt`): one that came
   * early asks for the same time again, and a spent name must not swallow it. With `calendar`,
   * a look at those calendars instead, which collapses only with one for the same calendars.
   */
  schedule(sourceId: string, at: Date, from: LookFrom | null, calendar?: CalendarLook): Promise<'scheduled' | 'duplicate'>;
}

/** Gmail's notification interval per mailbox. */
export const GMAIL_NOTIFICATION_INTERVAL_MS = 1000;
/** The look comes this long after the pass started: the interval plus a margin for clock skew. */
export const FOLLOW_UP_DELAY_MS = 1100;
/**
 * Looks are due on this grid, each time rounded up: the passes of one slot share one look
 * (one Cloud Tasks name), due after every one of them needs it. A slot's width is also the
 * most a look waits past its due time, so it is kept short; runs with two Gmail steps, which
 * would share a wider slot, are rare since Gmail notifies a mailbox once a second.
 */
const FOLLOW_UP_SLOT_MS = 100;

/** When a look is due, or `null` for a pass that found nothing (every change it knows is older). */
export function followUpAt(pass: { startedAt: Date; historyRecords: number }): Date | null {
  if (pass.historyRecords === 0) return null;
  const due = pass.startedAt.getTime() + FOLLOW_UP_DELAY_MS;
  return new Date(Math.ceil(due / FOLLOW_UP_SLOT_MS) * FOLLOW_UP_SLOT_MS);
}
