import { EMPTY_CALENDAR_STATE } from '../../../functions/src/engine/calendar/state';
import { GoogleError } from '../../../functions/src/engine/errors';
import { SyncRunner } from '../../../functions/src/engine/runner/runner';
import { DEFAULT_STATUS_SETTINGS } from '../../../functions/src/engine/source/status';
import { DEFAULT_TASK_RULE } from '../../../functions/src/engine/task-rule';
import { calendarEvent, sourceData } from '../../support/builders';
import { InMemoryEventLog, InMemoryMailbox, InMemorySourceStore, InMemoryTaskStore, ManualClock, RecordingLogger } from '../../support/in-memory';
import { accessToCalendars, InMemoryCalendar } from '../../support/in-memory-calendar';

const shared = 'shared@group.calendar.google.com';
const team = 'team@group.calendar.google.com';
/** What Calendar answers for a calendar the account may no longer read (classified as the adapter does). */
const refusedHere = () => new GoogleError('auth-revoked', 'calendar.events.list failed: 403 forbidden', { operation: 'calendar.events.list', status: 403, reason: 'forbidden' });
const revokedGrant = () => new GoogleError('auth-revoked', 'token refresh failed: 400 invalid_grant', { status: 400, reason: 'invalid_grant' });

async function world() {
  const clock = new ManualClock();
  const calendars = { [shared]: new InMemoryCalendar(), [team]: new InMemoryCalendar() };
  const sources = new InMemorySourceStore();
  const tasks = new InMemoryTaskStore();
  const events = new InMemoryEventLog();
  const runner = new SyncRunner({
    sources,
    tasks,
    events,
    google: accessToCalendars(new InMemoryMailbox(), calendars),
    clock,
    logger: new RecordingLogger(),
    leaseMs: 60_000,
    passBudgetMs: 60_000,
    fetchBatchSize: 50,
    taskRule: DEFAULT_TASK_RULE,
    statusSettings: DEFAULT_STATUS_SETTINGS,
    followUps: null,
  });
  const far = new Date(clock.now().getTime() + 86_400_000);
  // Both calendars listed before, with channels and horizons far ahead: a push lists only the changes.
  const state = (calendar: InMemoryCalendar) => ({ ...EMPTY_CALENDAR_STATE, syncToken: calendar.syncToken(), horizon: far, channelExpiration: far });
  await sources.create('s1', sourceData({ watchExpiration: far, lastPushAt: clock.now(), calendarSelection: [shared, team], calendars: { [shared]: state(calendars[shared]), [team]: state(calendars[team]) } }));
  const change = (calendar: InMemoryCalendar, id: string) => calendar.put(calendarEvent({ id, start: new Date(clock.now().getTime() + 3_600_000), updated: clock.now() }));
  const push = () => runner.handle('s1', { gmail: null, calendar: false, calendars: [shared, team] }, { trigger: 'push', pushAt: clock.now() });
  return { clock, calendars, sources, tasks, events, change, push };
}

describe("a step's Calendar passes", () => {
  it('a calendar that refuses the account (403) fails alone: the next calendar is still synced in the same step, the refusal counted on that calendar', async () => {
    const w = await world();
    w.calendars[shared].refusal = refusedHere();
    w.change(w.calendars[team], 'standup');
    await expect(w.push()).resolves.toBe('ran');
    expect(w.tasks.ids()).toEqual(['standup']);
    const source = (await w.sources.get('s1'))!;
    expect(source.calendars[shared]!.syncErrors).toBe(1);
    expect(source.calendars[team]).toMatchObject({ syncErrors: 0, syncToken: w.calendars[team].syncToken() });
    expect(source).toMatchObject({ status: 'active', disconnectReason: null, consecutiveErrors: 0, lease: null });
    expect(source.pending).toEqual({ gmail: null, calendar: false, calendars: [] });
    expect(w.events.events.map((e) => [e.outcome, e.error])).toEqual([['error', expect.stringContaining('403 forbidden')]]);
  });

  it('three refusals in a row degrade the source naming that calendar, while the other calendar keeps syncing', async () => {
    const w = await world();
    w.calendars[shared].refusal = refusedHere();
    for (const id of ['a', 'b', 'c']) {
      w.change(w.calendars[team], id);
      await w.push();
    }
    expect(w.tasks.ids()).toEqual(['a', 'b', 'c']);
    expect((await w.sources.get('s1'))!).toMatchObject({ status: 'degraded', statusReason: `3 Calendar sync errors in a row: calendar ${shared}` });
  });

  it('a revoked grant still ends the step: the calendars after it wait, the source is disconnected', async () => {
    const w = await world();
    w.calendars[shared].refusal = revokedGrant();
    w.change(w.calendars[team], 'standup');
    await w.push();
    expect(w.calendars[team].calls).toEqual({});
    expect(w.tasks.ids()).toEqual([]);
    expect((await w.sources.get('s1'))!.status).toBe('disconnected');
  });
});
