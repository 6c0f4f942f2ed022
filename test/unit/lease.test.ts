import { followUpAt } from '../../functions/src/engine/runner/follow-up';
import { LeaseLostError } from '../../functions/src/engine/errors';
import { changedFields, decideAdvance, decideRecord, decideStepEnd, mergePending, needsRecording, WALK_WAIT_OWNER } from '../../functions/src/engine/source/lease';
import { LAG_SPAN_MS } from '../../functions/src/engine/gmail/read-lag';
import { NO_PENDING, type Source } from '../../functions/src/engine/model';
import { sourceData } from '../support/builders';

const now = new Date('2026-11-24T10:00:00Z');
const LEASE_MS = 30_000;
const at = (ms: number) => new Date(now.getTime() + ms);
const source = (overrides: Partial<Source> = {}): Source => ({ id: 's', ...sourceData({ historyId: '1000', lastPushAt: now }), ...overrides });
const heldBy = (owner: string, untilMs = LEASE_MS) => ({ lease: { owner, until: at(untilMs) } });

describe('decideRecord', () => {
  it('takes a free lease and claims the work in the same decision', () => {
    const { patch, result } = decideRecord(source(), { gmail: '1005', calendar: true }, 'me', now, LEASE_MS, now);
    expect(result).toEqual({ kind: 'acquired', claimed: { gmail: '1005', calendar: true, calendars: [] } });
    expect(patch).toEqual({ pending: NO_PENDING, lease: { owner: 'me', until: at(LEASE_MS) } });
  });

  it('records new work under a live lease without touching the lease', () => {
    const { patch, result } = decideRecord(source(heldBy('other')), { gmail: '1005', calendar: false }, 'me', now, LEASE_MS, now);
    expect(result).toEqual({ kind: 'recorded' });
    expect(patch).toEqual({ pending: { gmail: '1005', calendar: false, calendars: [] } });
  });

  it('writes nothing for work the cursor covers', () => {
    expect(decideRecord(source(), { gmail: '999', calendar: false }, 'me', now, LEASE_MS, now)).toEqual({ patch: null, result: { kind: 'nothing-new' } });
  });

  it('only stamps lastPushAt when it is a minute old', () => {
    const stale = source({ lastPushAt: at(-61_000) });
    expect(decideRecord(stale, { gmail: '999', calendar: false }, 'me', now, LEASE_MS, now).patch).toEqual({ lastPushAt: now });
  });

  it('takes over an expired lease with work left behind, even if the trigger brings nothing new', () => {
    const crashed = source({ ...heldBy('dead', -1), pending: { gmail: '1003', calendar: false, calendars: [] } });
    const { result } = decideRecord(crashed, { gmail: null, calendar: false }, 'me', now, LEASE_MS);
    expect(result).toEqual({ kind: 'acquired', claimed: { gmail: '1003', calendar: false, calendars: [] } });
  });

  it('does not claim a pending Gmail id that the cursor has passed', () => {
    const passed = source({ pending: { gmail: '900', calendar: false, calendars: [] } });
    expect(decideRecord(passed, { gmail: null, calendar: false }, 'me', now, LEASE_MS).result).toEqual({ kind: 'nothing-new' });
  });
});

describe('needsRecording (the read-only fast path)', () => {
  it.each([
    ['work the cursor covers', source(), { gmail: '1000', calendar: false }, false],
    ['Gmail work pending under a live lease', source({ ...heldBy('o'), pending: { gmail: '1009', calendar: false, calendars: [] } }), { gmail: '1008', calendar: false }, false],
    ['newer Gmail work', source(heldBy('o')), { gmail: '1001', calendar: false }, true],
    ['Calendar work not yet pending', source(heldBy('o')), { gmail: null, calendar: true }, true],
    ['work left by a dead holder', source({ ...heldBy('dead', -1), pending: { gmail: null, calendar: true, calendars: [] } }), { gmail: null, calendar: false }, true],
  ])('%s → %s', (_, s, work, expected) => {
    expect(needsRecording(s, work, now, undefined)).toBe(expected);
  });
});

describe('decideStepEnd', () => {
  const step = { owner: 'me', now, leaseMs: LEASE_MS, claimed: NO_PENDING, giveUp: false };

  it('releases when nothing arrived', () => {
    const { patch, result } = decideStepEnd(source(heldBy('me')), step);
    expect(result).toEqual({ kind: 'released' });
    expect(patch).toEqual({ lease: null });
  });

  it('claims what arrived meanwhile and extends the lease', () => {
    const s = source({ ...heldBy('me', 5), pending: { gmail: '1002', calendar: true, calendars: [] } });
    const { patch, result } = decideStepEnd(s, step);
    expect(result).toEqual({ kind: 'continue', claimed: { gmail: '1002', calendar: true, calendars: [] } });
    expect(patch).toEqual({ pending: NO_PENDING, lease: { owner: 'me', until: at(LEASE_MS) } });
  });

  it('continues with work a pass left, put back through `change`', () => {
    const change = (s: Source): Source => ({ ...s, pending: mergePending(s.pending, { gmail: '1001', calendar: false, calendars: [] }) });
    expect(decideStepEnd(source(heldBy('me')), { ...step, change }).result).toEqual({ kind: 'continue', claimed: { gmail: '1001', calendar: false, calendars: [] } });
  });

  it('gives up: puts the claimed work back under an expired lease, which the poll and any trigger take over', () => {
    const claimed = { gmail: '1004', calendar: true, calendars: [] };
    const { patch, result } = decideStepEnd(source(heldBy('me')), { ...step, claimed, giveUp: true });
    expect(result).toEqual({ kind: 'released' });
    expect(patch).toEqual({ pending: claimed, lease: { owner: 'me', until: now } });
    expect(needsRecording({ ...source(), ...patch }, { gmail: null, calendar: false }, at(1), undefined)).toBe(true);
    // Nothing to give back: released.
    expect(decideStepEnd(source(heldBy('me')), { ...step, giveUp: true }).patch).toEqual({ lease: null });
  });

  describe('a walk (a resync not yet walking)', () => {
    const walk = (startedAtMs: number) => ({ gmailResync: { cursor: '2000', pageToken: null, imported: 0, startedAt: at(startedAtMs) } });

    it('waiting out the lag: released, with the lease kept until it may start; then any trigger takes it', () => {
      const { patch, result } = decideStepEnd(source({ ...heldBy('me'), ...walk(0) }), step);
      expect(result).toEqual({ kind: 'released' });
      expect(patch).toEqual({ lease: { owner: WALK_WAIT_OWNER, until: at(LAG_SPAN_MS) } });
      const kept = source({ ...walk(0), ...patch });
      expect(needsRecording(kept, { gmail: null, calendar: false }, at(LAG_SPAN_MS - 1), undefined)).toBe(false);
      expect(decideRecord(kept, { gmail: null, calendar: false }, 'next', at(LAG_SPAN_MS), LEASE_MS).result).toEqual({ kind: 'acquired', claimed: { gmail: '1001', calendar: false, calendars: [] } });
    });

    it('due: claimed at the step\'s end, unless the step\'s Gmail pass failed (the next trigger tries again)', () => {
      const due = source({ ...heldBy('me'), ...walk(-LAG_SPAN_MS) });
      expect(decideStepEnd(due, step).result).toEqual({ kind: 'continue', claimed: { gmail: '1001', calendar: false, calendars: [] } });
      expect(decideStepEnd(due, { ...step, gmailFailed: true })).toMatchObject({ result: { kind: 'released' }, patch: { lease: null } });
    });
  });

  it('a successor that has already let go: the claimed work goes back under an expired lease, not none', () => {
    const claimed = { gmail: '1004', calendar: true, calendars: [] };
    const { patch, result } = decideStepEnd(source({ lease: null }), { ...step, claimed });
    expect(result).toEqual({ kind: 'lost' });
    expect(patch).toEqual({ pending: claimed, lease: { owner: 'me', until: now } });
  });

  it('leaves a successor\'s lease alone, and leaves the claimed work pending for it', () => {
    const claimed = { gmail: '1004', calendar: false, calendars: [] };
    const { patch, result } = decideStepEnd(source(heldBy('successor')), { ...step, claimed });
    expect(result).toEqual({ kind: 'lost' });
    expect(patch).toEqual({ pending: claimed });
  });

  it('stores the passes\' cursors with the release, the Gmail one only forward', () => {
    const claimed = { gmail: '1004', calendar: true, calendars: [] };
    const { patch, result } = decideStepEnd(source(heldBy('me')), { ...step, claimed, cursors: { historyId: '1007', calendarSyncTokens: { primary: { from: null, to: 'tok-2' } } } });
    expect(result).toEqual({ kind: 'released' });
    expect(patch).toEqual({ historyId: '1007', calendarSyncToken: 'tok-2', lease: null });
    expect(decideStepEnd(source(heldBy('me')), { ...step, cursors: { historyId: '999' } }).patch).toEqual({ lease: null });
  });

  it('keeps a calendar\'s new token only while the stored one is the one its listing began from', () => {
    const listed = { calendarSyncTokens: { primary: { from: 'tok-1', to: 'tok-2' } } };
    const { patch } = decideStepEnd(source({ ...heldBy('me'), calendarSyncToken: 'tok-1' }), { ...step, cursors: listed });
    expect(patch).toEqual({ calendarSyncToken: 'tok-2', lease: null });
    // A choice of rules during the pass cleared the token: the next pass lists everything again.
    expect(decideStepEnd(source({ ...heldBy('me'), calendarSyncToken: null }), { ...step, cursors: listed }).patch).toEqual({ lease: null });
  });

  it('judges the work left against the stored cursor: a pass past the pending id ends the run', () => {
    const s = source({ ...heldBy('me'), pending: { gmail: '1005', calendar: false, calendars: [] } });
    expect(decideStepEnd(s, { ...step, cursors: { historyId: '1006' } }).result).toEqual({ kind: 'released' });
    expect(decideStepEnd(s, { ...step, cursors: { historyId: '1004' } }).result).toEqual({ kind: 'continue', claimed: { gmail: '1005', calendar: false, calendars: [] } });
  });

  it('stores no cursor once the lease is lost, and hands the claimed work over instead', () => {
    const claimed = { gmail: '1004', calendar: true, calendars: [] };
    const { patch, result } = decideStepEnd(source(heldBy('successor')), { ...step, claimed, cursors: { historyId: '1007', calendarSyncTokens: { primary: { from: null, to: 'tok-2' } } } });
    expect(result).toEqual({ kind: 'lost' });
    expect(patch).toEqual({ pending: claimed });
  });

  it('ends a lease of its own that expired with nobody taking it over, storing its cursors', () => {
    const { patch, result } = decideStepEnd(source(heldBy('me', -1)), { ...step, cursors: { historyId: '1007' } });
    expect(result).toEqual({ kind: 'released' });
    expect(patch).toEqual({ historyId: '1007', lease: null });
  });

  it('applies the passes\' changes in the same decision', () => {
    const { patch } = decideStepEnd(source(heldBy('me')), { ...step, change: (s) => ({ ...s, consecutiveErrors: 4 }) });
    expect(patch).toEqual({ consecutiveErrors: 4, lease: null });
  });

  it('leaves the status to the successor once the lease is lost: what the passes found then is older than what it records', () => {
    // A poll's pass outlived its lease; a push-driven successor cleared the missed-push mark
    // meanwhile: the late end must not set it again (the source would stay degraded).
    const claimed = { gmail: null, calendar: true, calendars: [] };
    const change = (s: Source): Source => ({ ...s, missedPushAt: now, consecutiveErrors: 4 });
    expect(decideStepEnd(source(heldBy('successor')), { ...step, claimed, change }).patch).toEqual({ pending: claimed });
    expect(decideStepEnd(source({ lease: null }), { ...step, claimed, change }).patch).toEqual({ pending: claimed, lease: { owner: 'me', until: now } });
  });
});

describe('decideAdvance', () => {
  it('refuses a caller that does not hold the lease', () => {
    expect(() => decideAdvance(source(heldBy('other')), 's', 'me', '2000', now, LEASE_MS)).toThrow(LeaseLostError);
  });
  it('never moves the cursor back', () => {
    expect(decideAdvance(source(heldBy('me')), 's', 'me', '999', now, LEASE_MS)).toEqual({ patch: null, result: false });
    // The same write keeps the lease alive: a pass of many pages never outlives it between pages.
    expect(decideAdvance(source(heldBy('me', 5)), 's', 'me', '1001', now, LEASE_MS)).toEqual({ patch: { historyId: '1001', lease: { owner: 'me', until: at(LEASE_MS) } }, result: true });
  });
});

describe('changedFields', () => {
  it('compares dates by value and nested objects by content', () => {
    const a = source(heldBy('me'));
    expect(changedFields(a, { ...a, lease: { owner: 'me', until: at(LEASE_MS) }, lastPushAt: new Date(now) })).toBeNull();
    expect(changedFields(a, { ...a, pending: { ...a.pending, calendar: true } })).toEqual({ pending: { ...a.pending, calendar: true } });
  });
});

describe('followUpAt', () => {
  // `now` is on the 100 ms grid.
  it('asks for a look 1.1 s after a pass that found changes started, rounded up to the grid', () => {
    expect(followUpAt({ startedAt: at(300), historyRecords: 2 })).toEqual(at(1400));
    expect(followUpAt({ startedAt: at(150), historyRecords: 1 })).toEqual(at(1300));
  });
  it('gives the passes of one slot one look, due after each of them needs it', () => {
    const looks = [210, 250, 290].map((ms) => followUpAt({ startedAt: at(ms), historyRecords: 1 })!);
    expect(new Set(looks.map((d) => d.getTime())).size).toBe(1);
    for (const [i, ms] of [210, 250, 290].entries()) expect(looks[i]!.getTime()).toBeGreaterThanOrEqual(at(ms + 1100).getTime());
  });
  it('asks for none after a pass that found nothing', () => {
    expect(followUpAt({ startedAt: at(300), historyRecords: 0 })).toBeNull();
  });
});

describe('decideStepEnd on release', () => {
  it('does not leave behind a pending Gmail id that the cursor has passed', () => {
    const s = source({ ...heldBy('me'), historyId: '1010', pending: { gmail: '1005', calendar: false, calendars: [] } });
    const { patch, result } = decideStepEnd(s, { owner: 'me', now, leaseMs: LEASE_MS, claimed: NO_PENDING, giveUp: false });
    expect(result).toEqual({ kind: 'released' });
    expect(patch).toEqual({ pending: NO_PENDING, lease: null });
  });
});
