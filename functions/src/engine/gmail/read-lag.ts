import { isNewerHistoryId, maxHistoryId } from './history-id';
import type { GmailHistoryRecord, GmailMessageMetadata } from './ports';
import type { MessageChanges } from './rule';
import type { GmailResync, Source } from '../model';

/**
 * Read-after-push lag: Gmail can push a history id before `history.list` lists the change
 * behind it, or list a message added that `messages.get` still answers 404 for, for a few
 * seconds, while the history id in its answers may already count the change. A pass that meets
 * either keeps its cursor before the change it could not read and asks for a look a little
 * later (runner/looks.ts schedules it; nothing sleeps). The looks are bounded: the last attempt
 * takes Gmail's answer as it is (a message still 404 is deleted); a change still not listed
 * stays after the cursor, for the next push or poll to list.
 */

/**
 * When the retries are due, counted from the pass (or look) that asked: 1 s, then 2 s, then 4 s
 * (7 s in all, past the few seconds the lag is reported to last); a lag longer than that is
 * left to the next push, poll or audit.
 */
export const LAG_LOOK_DELAYS_MS: readonly number[] = [1000, 2000, 4000];
/** The attempt that no longer waits: what still lags is taken as Gmail answers it. */
export const LAG_FINAL_ATTEMPT = LAG_LOOK_DELAYS_MS.length;
/** The retries' whole span: a change announced before it is readable by then, or given up. */
export const LAG_SPAN_MS = LAG_LOOK_DELAYS_MS.reduce((a, b) => a + b, 0);

/** What a pass was told to find, and whether it is the last attempt at lagging work. */
export interface PassTarget {
  announced: string | null;
  final: boolean;
}

export const FIRST_ATTEMPT: PassTarget = { announced: null, final: false };

/** What a delta pass listed, against the work it claimed. */
export interface ListingReach {
  /** Where the pass started. */
  start: string;
  /** The id of the last record it listed; `null` when it listed none. */
  lastRecord: string | null;
  /** The newest history id announced to the pass (a push's, or the last record a look saw). */
  announced: string | null;
  /** The point before the first message history added that answered 404, when one did (and this is not the last attempt). */
  unreadableFrom: string | null;
  /** The last attempt: Gmail's answer is taken as it is. */
  final: boolean;
}

/**
 * Where the pass's cursor may go, and whether the work lags (a look is due). The cursor goes
 * no further than the last record listed: the history id in the answer may run ahead of
 * records Gmail does not list yet, and a cursor past a change's record never lists it (its
 * own push then finds it covered). Records that stop before the announced id mean the change
 * behind it is not listed yet; a message added that could not be read keeps the cursor before
 * its record. The last attempt no longer waits for either.
 */
export function gmailPassCursor(reach: ListingReach): { cursor: string; lagging: boolean } {
  if (!reach.final && reach.unreadableFrom !== null) return { cursor: reach.unreadableFrom, lagging: true };
  const listed = maxHistoryId(reach.start, reach.lastRecord) ?? reach.start;
  const short = reach.announced !== null && isNewerHistoryId(reach.announced, listed);
  return { cursor: listed, lagging: short && !reach.final };
}

/**
 * When a resync walk that has not listed anything yet may start, or `null` when it may now. Its
 * cursor is the mailbox history id read when it began, which may count changes Gmail does not
 * serve yet: their records lie before the cursor, so no delta lists them, and only a walk made
 * once they are readable finds them. The walk waits out the retries' span whatever started it
 * (a poll or a reconnect's check too, and a look that Cloud Tasks ran early); a walk already
 * under way does not wait.
 */
export function resyncWalkAt(progress: GmailResync, now: Date): Date | null {
  const begun = progress.pageToken !== null || progress.imported > 0;
  if (begun) return null;
  const due = new Date(progress.startedAt.getTime() + LAG_SPAN_MS);
  return due > now ? due : null;
}

/**
 * When the source's walk may start, or `null` when none waits (no walk, or one under way or
 * due). The stored progress decides, so every trigger and the step's end agree on it.
 */
export function walkWaitsUntil(source: Pick<Source, 'gmailResync'>, now: Date): Date | null {
  return source.gmailResync === null ? null : resyncWalkAt(source.gmailResync, now);
}

/** Messages history reports added whose metadata answered 404 (not deleted by history itself). */
export function unreadableAdds(changes: Map<string, MessageChanges>, fetched: Map<string, GmailMessageMetadata | null>): string[] {
  return [...changes].filter(([id, c]) => c.added && !c.deleted && fetched.get(id) === null).map(([id]) => id);
}

/** The point just before the first record adding one of `ids`: a listing from there lists it again. */
export function pointBefore(records: readonly GmailHistoryRecord[], ids: readonly string[]): string | null {
  const first = records.find((r) => r.messagesAdded.some((id) => ids.includes(id)));
  return first === undefined ? null : (BigInt(first.id) - 1n).toString();
}

/** When the look after attempt `attempt` is due, from `from`; `null` once the attempts are spent. */
export function lagLookAt(from: Date, attempt: number): Date | null {
  const delay = LAG_LOOK_DELAYS_MS[attempt];
  return delay === undefined ? null : new Date(from.getTime() + delay);
}
