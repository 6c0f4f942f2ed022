import { EMPTY_CALENDAR_STATE } from '../../../functions/src/engine/calendar/state';
import { GoogleError } from '../../../functions/src/engine/errors';
import type { Source } from '../../../functions/src/engine/model';
import { afterPass } from '../../../functions/src/engine/source/pass-outcome';
import { DEFAULT_STATUS_SETTINGS, deriveStatus } from '../../../functions/src/engine/source/status';
import { sourceStatusView } from '../../../functions/src/engine/source/source-status';
import { sourceData } from '../../support/builders';

const now = new Date('2026-12-07T10:00:00Z');
const nextWeek = new Date('2026-12-14T10:00:00Z');
const work = 'work@group.calendar.google.com';
const team = 'team@group.calendar.google.com';
const live = { ...EMPTY_CALENDAR_STATE, channelExpiration: nextWeek };
/** A healthy source syncing its primary calendar and two others. */
const source = (calendars: Source['calendars'] = { [work]: live, [team]: live }, calendarSelection: Source['calendarSelection'] = ['primary', work, team]): Source => ({
  id: 's',
  ...sourceData({ watchExpiration: nextWeek, calendarChannelExpiration: nextWeek, lastPushAt: now, lastCheckAt: now, credentialsAt: now }),
  calendars,
  calendarSelection,
});
const status = (s: Source) => deriveStatus(s, now, DEFAULT_STATUS_SETTINGS);

describe('status with several calendars', () => {
  it('stays one word, degraded when any synced calendar has no channel, an expired one or keeps failing, naming it', () => {
    expect(status(source())).toMatchObject({ status: 'active', statusReason: null });
    expect(status(source({ [work]: live, [team]: { ...live, channelExpiration: null } }))).toMatchObject({ status: 'degraded', statusReason: `No Calendar channel registered: calendar ${team}`, polling: true });
    expect(status(source({ [work]: { ...live, channelExpiration: now }, [team]: live }))).toMatchObject({ status: 'degraded', statusReason: `Calendar channel expired: calendar ${work}` });
    expect(status(source({ [work]: live, [team]: { ...live, syncErrors: 3 } }))).toMatchObject({ status: 'degraded', statusReason: `3 Calendar sync errors in a row: calendar ${team}`, polling: false });
    expect(status(source({ [work]: live, [team]: { ...live, syncErrors: 2 } })).status).toBe('active');
  });

  it('judges only the calendars chosen: a primary calendar left out needs no channel', () => {
    expect(status({ ...source({ [work]: live }, [work]), calendarChannelExpiration: null }).status).toBe('active');
    expect(status({ ...source(), calendarChannelExpiration: null }).statusReason).toBe('No Calendar channel registered');
  });
});

describe('a pass on a calendar other than the primary one', () => {
  const refused = { ok: false as const, error: new GoogleError('auth-revoked', 'forbidden', { operation: 'calendar.events.list', status: 403, reason: 'forbidden', oneCalendar: true }), credentialsAt: now };
  const revoked = { ok: false as const, error: new GoogleError('auth-revoked', 'invalid_grant', { status: 400, reason: 'invalid_grant' }), credentialsAt: now };

  it('counts its own failures, and a refusal of that calendar does not disconnect the account', () => {
    let s = source();
    for (let i = 0; i < 3; i += 1) s = afterPass(s, refused, { trigger: 'push', calendarId: team }, now, DEFAULT_STATUS_SETTINGS);
    expect(s.calendars[team]!.syncErrors).toBe(3);
    expect(s.consecutiveErrors).toBe(0);
    expect(s).toMatchObject({ status: 'degraded', statusReason: `3 Calendar sync errors in a row: calendar ${team}` });
    const recovered = afterPass(s, { ok: true, changed: false }, { trigger: 'push', calendarId: team }, now, DEFAULT_STATUS_SETTINGS);
    expect(recovered).toMatchObject({ status: 'active', calendars: { [team]: { syncErrors: 0 } } });
  });

  it('a revoked grant still disconnects the account, whichever calendar found it', () => {
    expect(afterPass(source(), revoked, { trigger: 'push', calendarId: work }, now, DEFAULT_STATUS_SETTINGS).status).toBe('disconnected');
  });

  it('a missing permission refuses every calendar: it disconnects, and counts on no calendar', () => {
    const missing = { ok: false as const, error: new GoogleError('auth-revoked', 'insufficientPermissions', { operation: 'calendar.events.list', status: 403, reason: 'insufficientPermissions' }), credentialsAt: now };
    const after = afterPass(source(), missing, { trigger: 'push', calendarId: team }, now, DEFAULT_STATUS_SETTINGS);
    expect(after).toMatchObject({ status: 'disconnected', calendars: { [team]: { syncErrors: 0 } } });
  });
});

describe("the status view's calendar list channel", () => {
  const listChannel = (expiration: Date) => ({ id: 'list-channel', resourceId: 'list-resource', expiration });
  const view = (s: Source) => sourceStatusView(s, now, DEFAULT_STATUS_SETTINGS).calendarListChannel;

  it('shows the channel of a source whose choice follows the calendar list: its expiry, ok, expired or missing', () => {
    expect(view({ ...source(), calendarListChannel: listChannel(nextWeek) })).toEqual({ state: 'ok', channelExpiration: nextWeek.toISOString() });
    expect(view({ ...source(), calendarListChannel: listChannel(now) })).toEqual({ state: 'Calendar list channel expired', channelExpiration: now.toISOString() });
    expect(view({ ...source(), calendarListChannel: null })).toEqual({ state: 'No calendar list channel registered', channelExpiration: null });
    expect(view({ ...source({}, 'owned'), calendarListChannel: listChannel(nextWeek) })?.state).toBe('ok');
  });

  it('is null for a source that syncs only its primary calendar and keeps no list channel', () => {
    expect(view(source({}, ['primary']))).toBeNull();
  });
});
