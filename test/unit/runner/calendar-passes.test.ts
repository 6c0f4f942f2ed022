import { EMPTY_CALENDAR_STATE } from '../../../functions/src/engine/calendar/state';
import { GoogleError } from '../../../functions/src/engine/errors';
import { classifyGoogleError } from '../../../functions/src/google/classify';
import { calendarEvent, sourceData } from '../../support/builders';
import { inMemoryRunner, InMemoryMailbox } from '../../support/in-memory';
import { accessToCalendars, InMemoryCalendar } from '../../support/in-memory-calendar';

const shared = 'shared@group.calendar.google.com';
const team = 'team@group.calendar.google.com';
/** What Calendar answers with a 403 naming `reason`, classified as the adapter does. */
const refusal = (reason: string) =>
  classifyGoogleError({ message: 'failed', response: { status: 403, data: { error: { code: 403, message: 'm', errors: [{ reason, domain: 'global', message: 'm' }] } } } }, 'calendar.events.list');
/** The calendar's sharing refuses the account. */
const refusedHere = () => refusal('forbidden');
const revokedGrant = () => new GoogleError('auth-revoked', 'token refresh failed: 400 invalid_grant', { status: 400, reason: 'invalid_grant' });

async function world() {
  const calendars = { [shared]: new InMemoryCalendar(), [team]: new InMemoryCalendar() };
  const { clock, sources, tasks, events, runner } = inMemoryRunner(accessToCalendars(new InMemoryMailbox(), calendars));
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

  it.each(['insufficientPermissions', 'accessNotConfigured', 'domainPolicy'])(
    'a 403 %s on a calendar other than the primary one refuses every calendar: the step ends, the source asks for a reconnect',
    async (reason) => {
      const w = await world();
      w.calendars[shared].refusal = refusal(reason);
      w.change(w.calendars[team], 'standup');
      await w.push();
      expect(w.calendars[team].calls).toEqual({});
      expect(w.tasks.ids()).toEqual([]);
      const source = (await w.sources.get('s1'))!;
      expect(source).toMatchObject({ status: 'disconnected', disconnectReason: 'A required Google permission is missing; reconnect the account' });
      expect(source.calendars[shared]!.syncErrors).toBe(0);
    },
  );
});
