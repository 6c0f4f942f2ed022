import type { CalendarSync } from '../calendar/sync';
import { syncedCalendars } from '../calendar/state';
import type { IngestionTrigger, Pending, Source } from '../model';
import type { GoogleAccess } from '../ports';
import { calendarLagLookAt } from './calendar-lag';
import { changedTasks, runPass, stopsTheStep, type PassDeps, type PassResult } from './pass';

/**
 * A step's Calendar passes: one per calendar with claimed work, each with its own listing,
 * token and 410 recovery, so a push costs Google calls only for the calendar it named.
 */

/** Every synced calendar when all were announced (a poll, a reconnect), else those whose channels spoke. */
export function calendarsToList(source: Source, claimed: Pending): string[] {
  const synced = syncedCalendars(source);
  return claimed.calendar ? synced : synced.filter((calendarId) => claimed.calendars.includes(calendarId));
}

export interface CalendarPassRun {
  owner: string;
  trigger: IngestionTrigger;
  pageSize: number | null;
  /** Which retry at lagging calendars this run is (runner/calendar-lag.ts). */
  lagAttempt: number;
  /** Asks for a look at a calendar whose listing lagged its push. */
  lookAgain: (calendarId: string, at: Date) => Promise<void>;
}

/**
 * The passes in turn; one that stops the step (a lost lease, a failure worth retrying, a revoked
 * grant) stops the rest, a refusal of one calendar only its own pass.
 */
export async function runCalendarPasses(deps: PassDeps & { google: GoogleAccess }, sync: CalendarSync, source: Source, claimed: Pending, run: CalendarPassRun): Promise<PassResult[]> {
  const results: PassResult[] = [];
  for (const calendarId of calendarsToList(source, claimed)) {
    const result = await runPass(deps, 'calendar', source, run.trigger, async (startedAt) => {
      const listed = await sync.run(await deps.google.calendar(source, calendarId), { source, calendarId, owner: run.owner }, run.pageSize);
      const lagAt = calendarLagLookAt({ calendarId, claimed, trigger: run.trigger, listedNothing: listed.listedNothing, startedAt }, run.lagAttempt);
      if (lagAt !== null) await run.lookAgain(calendarId, lagAt);
      const cursors = listed.syncToken === null ? {} : { calendarSyncTokens: { [calendarId]: { from: listed.listedFrom, to: listed.syncToken } } };
      const passTrigger: IngestionTrigger = listed.fullSync && run.trigger !== 'poll' ? 'resync' : run.trigger;
      return { counts: { ...listed.counts }, changed: changedTasks(listed.counts), trigger: passTrigger, more: false, cursors };
    });
    const passed: PassResult = result.kind === 'done' ? { ...result, calendarId } : result;
    results.push(passed);
    if (stopsTheStep(passed)) break;
  }
  return results;
}
