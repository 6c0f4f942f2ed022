import { GoogleError } from '../../functions/src/engine/errors';
import type { Source } from '../../functions/src/engine/model';
import { afterPass } from '../../functions/src/engine/source/pass-outcome';
import { calendarState, EMPTY_CALENDAR_STATE } from '../../functions/src/engine/calendar/state';
import { DEFAULT_STATUS_SETTINGS } from '../../functions/src/engine/source/status';
import { sourceData } from '../support/builders';

const now = new Date('2026-11-25T10:00:00Z');
const connectedAt = new Date('2026-11-25T09:00:00Z');
const source = (credentialsAt: Date): Source => ({ id: 's', ...sourceData({ credentialsAt }) });
const revoked = (credentialsAt: Date) => ({ ok: false as const, error: new GoogleError('auth-revoked', 'invalid_grant', { status: 400, reason: 'invalid_grant' }), credentialsAt });

describe('afterPass', () => {
  it('disconnects a source whose current credentials Google refused', () => {
    expect(afterPass(source(connectedAt), revoked(connectedAt), { trigger: 'push' }, now, DEFAULT_STATUS_SETTINGS)).toMatchObject({ status: 'disconnected' });
  });

  it('leaves a source alone when the refused credentials were replaced during the pass (a reconnect)', () => {
    const reconnected = source(new Date('2026-11-25T09:59:59Z'));
    expect(afterPass(reconnected, revoked(connectedAt), { trigger: 'push' }, now, DEFAULT_STATUS_SETTINGS)).toBe(reconnected);
  });

  it('stamps the calendar a Calendar pass listed, and the oldest listing among the synced calendars; a Gmail pass stamps none', () => {
    const work = 'work@group.calendar.google.com';
    const earlier = new Date('2026-11-25T09:30:00Z');
    const two: Source = { ...source(connectedAt), calendarSelection: ['primary', work], calendarCheckedAt: earlier, calendars: { [work]: { ...EMPTY_CALENDAR_STATE } } };
    const ok = { ok: true as const, changed: false };
    const listedWork = afterPass(two, ok, { trigger: 'push', calendarId: work }, now, DEFAULT_STATUS_SETTINGS);
    expect(calendarState(listedWork, work).checkedAt).toEqual(now);
    expect(listedWork.calendarsCheckedBy).toEqual(earlier);
    const listedBoth = afterPass(listedWork, ok, { trigger: 'push', calendarId: 'primary' }, now, DEFAULT_STATUS_SETTINGS);
    expect(listedBoth).toMatchObject({ calendarCheckedAt: now, calendarsCheckedBy: now });
    // A calendar never listed counts from the epoch: the poll finds it at once.
    const fresh = afterPass(two, ok, { trigger: 'push', calendarId: 'primary' }, now, DEFAULT_STATUS_SETTINGS);
    expect(fresh.calendarsCheckedBy).toEqual(new Date(0));
    expect(afterPass(listedBoth, ok, { trigger: 'push' }, new Date('2026-11-25T11:00:00Z'), DEFAULT_STATUS_SETTINGS).calendarsCheckedBy).toEqual(now);
  });
});
