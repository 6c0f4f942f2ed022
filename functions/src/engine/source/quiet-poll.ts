import { horizonDue } from '../calendar/sync';
import { calendarChecked, calendarState, syncedCalendars } from '../calendar/state';
import type { Source, SourceStatus } from '../model';
import { calendarWindow, type TaskRule } from '../task-rule';
import { writing, type SourceDecision } from './decisions';
import { hasPending, outstanding, withCursors, type ListedToken } from './lease';
import { afterPass } from './pass-outcome';
import { withStatus, type StatusSettings } from './status';

/**
 * A fallback poll asks Google before it takes the lease: Gmail's history after the cursor and
 * each synced calendar's listing from its sync token. Almost every poll finds nothing; such a
 * poll then writes only what a run that found nothing would have written beside the lease (the
 * check times the fallback poll's queries read, the status, a calendar's newer token), in one
 * write instead of the lease's record and the step's end. History and sync tokens are
 * append-only: a change that arrives after the poll asked is after the cursors, where its own
 * push's run, or the next poll, lists it.
 */

/** What the poll found by asking: nothing after the Gmail cursor, nor after each calendar's token. */
export interface QuietFind {
  /** The Gmail cursor it asked from. */
  historyId: string;
  /** Each synced calendar's listing: the token it began from (`from`), the one it ended with (`to`). */
  calendars: Record<string, ListedToken>;
}

/**
 * Whether a poll may ask before the lease: nothing but the check is due. Not when any run holds
 * or held the lease (an expired lease is cleared by the run that takes it), when work is
 * pending, when a walk (rule change, resync) is under way, and not while any synced calendar
 * has no token (a full listing) or a horizon to extend (the slice that entered the window).
 */
export function pollMayAskFirst(source: Source, now: Date, taskRule: TaskRule): boolean {
  if (!nothingElseDue(source, now) || source.historyId === null) return false;
  const window = calendarWindow(now, taskRule, source.eventRules);
  return syncedCalendars(source).every((calendarId) => {
    const { syncToken, horizon } = calendarState(source, calendarId);
    return syncToken !== null && !horizonDue(horizon, window);
  });
}

/** A quiet poll's write: the status before it, and the source as written (its status may change). */
export interface QuietCheck {
  previous: SourceStatus;
  source: Source;
}

/**
 * The write of a poll that found nothing: what passes that found nothing record (each
 * calendar checked, the account checked, the status), and each calendar's newer token, decided
 * on the source as stored. If the source moved on since the poll asked (a run took the lease,
 * work or a walk arrived, a cursor or the calendars changed, it was disconnected), nothing is
 * written and the result is `null`: the poll then runs as any poll does.
 */
export function quietPollChecked(find: QuietFind, now: Date, settings: StatusSettings): SourceDecision<QuietCheck | null> {
  return (source, derive) => {
    if (!asFound(source, find, now)) return { patch: null, result: null };
    const nothing = { ok: true, changed: false } as const;
    const gmailChecked = afterPass(source, nothing, { trigger: 'poll' }, now, settings);
    const checked = Object.keys(find.calendars).reduce((next, calendarId) => afterPass(next, nothing, { trigger: 'poll', calendarId }, now, settings), gmailChecked);
    const kept = withStatus(noEarlierChecks(source, checked), now, settings);
    const { patch, result } = writing(source, withCursors(kept, { calendarSyncTokens: find.calendars }), derive);
    return { patch, result: { previous: source.status, source: result } };
  };
}

/**
 * The check times the poll writes (`now`: when it asked), or the stored ones where later: a
 * run that found nothing and ended after the poll asked wrote those, and they stand.
 */
function noEarlierChecks(stored: Source, checked: Source): Source {
  const calendars = syncedCalendars(checked).reduce((next, calendarId) => {
    const at = laterOf(calendarState(stored, calendarId).checkedAt, calendarState(next, calendarId).checkedAt);
    return at === null ? next : { ...next, ...calendarChecked(next, calendarId, at) };
  }, checked);
  return { ...calendars, lastCheckAt: laterOf(stored.lastCheckAt, checked.lastCheckAt), lastSyncAt: laterOf(stored.lastSyncAt, checked.lastSyncAt) };
}

function laterOf(a: Date | null, b: Date | null): Date | null {
  if (a === null || b === null) return a ?? b;
  return a.getTime() > b.getTime() ? a : b;
}

function nothingElseDue(source: Source, now: Date): boolean {
  return source.lease === null && source.gmailRuleApply === null && source.gmailResync === null && !hasPending(outstanding(source, now));
}

/** The source is as the poll found it: connected, nothing else due, the same cursors, the same calendars. */
function asFound(source: Source, find: QuietFind, now: Date): boolean {
  const calendars = syncedCalendars(source);
  const sameCalendars = calendars.length === Object.keys(find.calendars).length && calendars.every((id) => calendarState(source, id).syncToken === find.calendars[id]?.from);
  return sameCalendars && source.disconnectReason === null && source.historyId === find.historyId && nothingElseDue(source, now);
}
