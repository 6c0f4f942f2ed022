import { NO_PENDING, type Source } from '../../../functions/src/engine/model';
import { calendarLagAttempt, calendarLagLookAt } from '../../../functions/src/engine/runner/calendar-lag';
import { decideRecord, needsRecording } from '../../../functions/src/engine/source/lease';
import { sourceData } from '../../support/builders';

const now = new Date('2026-12-07T10:00:00Z');
const work = 'work@group.calendar.google.com';
const named = { ...NO_PENDING, calendars: [work] };
const pass = { calendarId: work, claimed: named, trigger: 'push' as const, listedNothing: true, startedAt: now };

describe('Calendar read-after-push lag', () => {
  it('looks again 1, 2, 4 s after a push-named listing that showed nothing, then stops', () => {
    expect([0, 1, 2, 3].map((attempt) => calendarLagLookAt(pass, attempt)?.getTime() ?? null)).toEqual([now.getTime() + 1000, now.getTime() + 2000, now.getTime() + 4000, null]);
  });

  it('asks for no look when the listing showed something, for a poll, or for a listing of every calendar', () => {
    expect(calendarLagLookAt({ ...pass, listedNothing: false }, 0)).toBeNull();
    expect(calendarLagLookAt({ ...pass, trigger: 'poll' }, 0)).toBeNull();
    expect(calendarLagLookAt({ ...pass, claimed: { ...NO_PENDING, calendar: true } }, 0)).toBeNull();
    expect(calendarLagLookAt({ ...pass, calendarId: 'primary' }, 0)).toBeNull();
  });

  it('reads the retry from a Calendar look, 0 from anything else', () => {
    expect(calendarLagAttempt({ kind: 'announced', trigger: 'push', work: { gmail: null, calendar: false, calendars: [work] }, calendarRetry: 2 })).toBe(2);
    expect(calendarLagAttempt({ kind: 'announced', trigger: 'push', work: { gmail: null, calendar: false } })).toBe(0);
    expect(calendarLagAttempt({ kind: 'check', trigger: 'poll', calendar: true })).toBe(0);
  });

  it('a look records its calendars as pending work and claims them when the lease is free; pending under a live lease needs no write', () => {
    const source: Source = { id: 's', ...sourceData({ calendarSelection: ['primary', work] }) };
    const look = { gmail: null, calendar: false, calendars: [work] };
    expect(needsRecording(source, look, now, undefined)).toBe(true);
    expect(decideRecord(source, look, 'me', now, 30_000).result).toEqual({ kind: 'acquired', claimed: named });
    const held: Source = { ...source, pending: named, lease: { owner: 'other', until: new Date(now.getTime() + 30_000) } };
    expect(needsRecording(held, look, now, undefined)).toBe(false);
    const busy: Source = { ...held, pending: NO_PENDING };
    expect(decideRecord(busy, look, 'me', now, 30_000)).toEqual({ patch: { pending: named }, result: { kind: 'recorded' } });
  });
});
