import { randomUUID } from 'node:crypto';
import type { Services } from '../../functions/src/entry/services';
import { CalendarSync } from '../../functions/src/engine/calendar/sync';
import { GmailSync } from '../../functions/src/engine/gmail/sync';
import { PRIMARY_CALENDAR } from '../../functions/src/engine/model';
import { Runner, type RunOutcome, type RunTrigger } from '../../functions/src/engine/runner/runner';
import { announcedWork } from '../../functions/src/engine/runner/trigger';

/**
 * Baseline for the benchmark: one full delta sync per notification, through the same
 * adapters and sync code, with no lease and no coalescing. It seizes the source's lease for
 * each run (so the store lets it move cursors) without waiting for anyone, and lets go of it
 * after: concurrent runs for one source all call Google, and the losers find their cursor
 * move refused.
 */
export class PerNotificationRunner extends Runner {
  private readonly gmail: GmailSync;
  private readonly calendar: CalendarSync;

  constructor(private readonly services: Services) {
    super();
    const deps = { sources: services.sources, tasks: services.tasks, clock: services.clock, leaseMs: 60_000, passBudgetMs: 60_000, taskRule: services.config.taskRule, fetchBatchSize: 5 };
    this.gmail = new GmailSync(deps);
    this.calendar = new CalendarSync(deps);
  }

  async run(sourceId: string, trigger: RunTrigger): Promise<RunOutcome> {
    const { sources, google, clock } = this.services;
    const work = announcedWork(trigger);
    const owner = randomUUID();
    const source = await sources.update(sourceId, clock.now(), () => ({ lease: { owner, until: new Date(clock.now().getTime() + 60_000) } }));
    try {
      // The passes leave their last cursor to the caller (the engine stores it with its step's end).
      if (work.gmail !== null) {
        const { cursor } = await this.gmail.run(await google.gmail(source), source, owner, trigger.pageSize ?? null);
        if (cursor !== null) await sources.advanceHistoryId(sourceId, owner, cursor, clock.now(), 60_000);
      } else {
        const { syncToken } = await this.calendar.run(await google.calendar(source), { source, calendarId: PRIMARY_CALENDAR, owner }, trigger.pageSize ?? null);
        if (syncToken !== null) await sources.setCalendarSyncToken(sourceId, owner, { calendarId: PRIMARY_CALENDAR, token: syncToken }, clock.now());
      }
    } catch {
      // A seized lease or a lost race: this strategy simply tries again on the next notification.
    }
    // Let go of the seized lease: a live one would make calendarPush skip the next
    // notifications (it asks for no run while a holder has Calendar work pending).
    await sources.update(sourceId, clock.now(), (s) => (s.lease?.owner === owner ? { lease: null } : {})).catch(() => undefined);
    return 'ran';
  }
}
