import { calendarState, calendarStateChange, watchesCalendarList, withOtherCalendars } from '../../../functions/src/engine/calendar/state';
import { sourceSchema, taskIdFor, taskSchema } from '../../../functions/src/engine/model';

const now = new Date('2026-12-07T08:00:00Z');
/** A source document as the version before calendars could be chosen wrote it: flat fields, no `calendars`. */
const written = {
  userId: 'u1',
  email: 'ada@example.com',
  status: 'active',
  calendarChannelId: 'c1',
  calendarResourceId: 'r1',
  calendarChannelExpiration: now,
  calendarSyncToken: 'tok-1',
  calendarHorizon: now,
  createdAt: now,
  updatedAt: now,
};

describe('per-calendar state', () => {
  it('reads a source written before calendars could be chosen as the primary calendar\'s state, and no other', () => {
    const source = sourceSchema.parse(written);
    expect(source.calendars).toEqual({});
    expect(calendarState(source, 'primary')).toEqual({ channelId: 'c1', resourceId: 'r1', channelExpiration: now, syncToken: 'tok-1', horizon: now, syncErrors: 0, checkedAt: null });
    expect(calendarState(source, 'work@group.calendar.google.com')).toEqual({ channelId: null, resourceId: null, channelExpiration: null, syncToken: null, horizon: null, syncErrors: 0, checkedAt: null });
    expect(source.calendarSelection).toBe('primary');
    expect(source.otherCalendarsRenewBy).toBeNull();
    expect(source.calendarsCheckedBy).toBeNull();
  });

  it('writes the primary calendar\'s state to the flat fields and another\'s to its own entry, leaving the rest alone', () => {
    const selection = ['primary', 'team@group.calendar.google.com', 'work@group.calendar.google.com'];
    const source = sourceSchema.parse({ ...written, calendarSelection: selection, calendars: { 'team@group.calendar.google.com': { syncToken: 'team-tok' } } });
    expect(calendarStateChange(source, 'primary', { syncToken: 'tok-2', horizon: null })).toEqual({ calendarSyncToken: 'tok-2', calendarHorizon: null });
    const change = calendarStateChange(source, 'work@group.calendar.google.com', { syncToken: 'work-tok' });
    expect(change).toEqual({
      calendars: {
        'team@group.calendar.google.com': { channelId: null, resourceId: null, channelExpiration: null, syncToken: 'team-tok', horizon: null, syncErrors: 0, checkedAt: null },
        'work@group.calendar.google.com': { channelId: null, resourceId: null, channelExpiration: null, syncToken: 'work-tok', horizon: null, syncErrors: 0, checkedAt: null },
      },
      // One of them has no channel yet: the renewal query finds the source at once.
      otherCalendarsRenewBy: new Date(0),
    });
    expect(sourceSchema.parse({ ...written, ...change }).calendars['work@group.calendar.google.com']!.syncToken).toBe('work-tok');
  });

  it('writes nothing for a calendar the source no longer syncs, so a pass that outlived the choice cannot bring it back', () => {
    const team = 'team@group.calendar.google.com';
    const teamOnly = sourceSchema.parse({ ...written, calendarSelection: [team], calendars: { [team]: { syncToken: 'team-tok' } } });
    expect(calendarStateChange(teamOnly, 'work@group.calendar.google.com', { syncToken: 'work-tok', horizon: now })).toEqual({});
    expect(calendarStateChange(teamOnly, 'primary', { channelId: 'c2', syncToken: 'tok-2' })).toEqual({});
    const owned = sourceSchema.parse({ ...written, calendarSelection: 'owned', calendars: {} });
    expect(calendarStateChange(owned, team, { checkedAt: now })).toEqual({});
  });
});

describe('the calendar list\'s channel', () => {
  it('is kept only when the list can change what syncs, and its expiry counts in the renewal time', () => {
    expect(watchesCalendarList({ calendarSelection: 'primary' })).toBe(false);
    expect(watchesCalendarList({ calendarSelection: ['primary'] })).toBe(false);
    expect(watchesCalendarList({ calendarSelection: 'owned' })).toBe(true);
    expect(watchesCalendarList({ calendarSelection: ['primary', 'team@group.calendar.google.com'] })).toBe(true);
    const later = new Date(now.getTime() + 86_400_000);
    const team = { 'team@group.calendar.google.com': { channelId: 'c2', resourceId: 'r2', channelExpiration: later, syncToken: null, horizon: null, syncErrors: 0, checkedAt: null } };
    const listChannel = { id: 'l1', resourceId: 'lr1', expiration: now };
    // Owned with no other calendar yet: the list's channel alone, due at once while it is missing.
    expect(withOtherCalendars({}, { calendarSelection: 'owned', calendarListChannel: null }).otherCalendarsRenewBy).toEqual(new Date(0));
    expect(withOtherCalendars(team, { calendarSelection: 'owned', calendarListChannel: listChannel }).otherCalendarsRenewBy).toEqual(now);
    expect(withOtherCalendars({}, { calendarSelection: 'primary', calendarListChannel: listChannel }).otherCalendarsRenewBy).toBeNull();
    expect(sourceSchema.parse(written).calendarListChannel).toBeNull();
  });
});

describe('task ids across calendars', () => {
  it('keeps the ids the primary calendar\'s tasks always had, and gives the same event on another calendar its own', () => {
    expect(taskIdFor('s1', 'calendar', 'ev1')).toBe('s1:calendar:ev1');
    expect(taskIdFor('s1', 'calendar', 'ev1', 'primary')).toBe('s1:calendar:ev1');
    expect(taskIdFor('s1', 'calendar', 'ev1', null)).toBe('s1:calendar:ev1');
    const shared = taskIdFor('s1', 'calendar', 'ev1', 'team/x@group.calendar.google.com');
    expect(shared).toBe('s1:calendar:team%2Fx%40group.calendar.google.com:ev1');
    expect(shared).not.toContain('/');
    expect(taskIdFor('s1', 'calendar', 'ev1', 'work@group.calendar.google.com')).not.toBe(taskIdFor('s1', 'calendar', 'ev1', 'team@group.calendar.google.com'));
    expect(taskIdFor('s1', 'gmail', 'm1', 'work@group.calendar.google.com')).toBe('s1:gmail:m1');
  });

  it('reads a task written before calendars could be chosen, with no calendar field', () => {
    const task = taskSchema.parse({ sourceId: 's1', origin: 'calendar', externalId: 'ev1', title: 't', dueAt: null, link: null, status: 'open', externalUpdatedAt: now, updatedAt: now });
    expect(task.calendarId).toBeUndefined();
    expect(Object.keys(taskSchema.parse(task))).not.toContain('calendarId');
  });
});
