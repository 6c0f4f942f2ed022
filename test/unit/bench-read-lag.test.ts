import { createLogger } from '../../functions/src/logging';
import { LOG_EVENTS } from '../../functions/src/observability/log-events';
import { perNotification } from '../../scripts/bench/figures';
import { lagMismatch, lagUnmet, passLag } from '../../scripts/bench/read-lag';

/** A functions log as the engine writes it: one JSON line per call, through the real logger. */
function logOf(write: (logger: ReturnType<typeof createLogger>) => void): string {
  const lines: string[] = [];
  write(createLogger((line) => lines.push(line)));
  return lines.join('\n');
}

describe('bench: the read-after-push lag the passes met', () => {
  it('sums the lag counts of every finished pass and counts the Gmail passes', () => {
    const log = logOf((logger) => {
      logger.info(LOG_EVENTS.syncFinished('gmail'), { sourceId: 'a', type: 'gmail', trigger: 'push', counts: { historyPages: 1, historyRecords: 0, lagging: 1 }, durationMs: 40 });
      logger.info(LOG_EVENTS.syncFinished('gmail'), { sourceId: 'a', type: 'gmail', trigger: 'push', counts: { historyRecords: 3, unreadableHeld: 2 }, durationMs: 90 });
      logger.info(LOG_EVENTS.syncFinished('gmail'), { sourceId: 'b', type: 'gmail', trigger: 'push', counts: { unreadableTreatedAsDeleted: 1, lagging: 1 }, durationMs: 70 });
      logger.info(LOG_EVENTS.syncFinished('gmail'), { sourceId: 'c', type: 'gmail', trigger: 'poll', counts: { resyncWaiting: 1 }, durationMs: 10 });
      logger.info(LOG_EVENTS.syncFinished('calendar'), { sourceId: 'a', type: 'calendar', trigger: 'push', counts: { events: 4 }, durationMs: 30 });
    });
    expect(passLag(log)).toEqual({ gmailPasses: 4, counts: { lagging: 2, unreadableHeld: 2, unreadableTreatedAsDeleted: 1, resyncWaiting: 1 } });
  });

  it('skips other messages, request-log lines and torn lines', () => {
    const engineLines = logOf((logger) => {
      logger.debug(LOG_EVENTS.gmailLagLookScheduled, { sourceId: 'a', retry: 1, at: '2026-12-07T00:00:01.000Z' });
      logger.info(LOG_EVENTS.syncFinished('gmail'), { sourceId: 'a', type: 'gmail', trigger: 'push', counts: { lagging: 1 }, durationMs: 40 });
    });
    const log = ['GET /healthz 200', engineLines, '{"message":"gmail sync finished","counts":{"lagg', ''].join('\n');
    expect(passLag(log)).toEqual({ gmailPasses: 1, counts: { lagging: 1, unreadableHeld: 0, unreadableTreatedAsDeleted: 0, resyncWaiting: 0 } });
  });

  it('an empty log: no pass, nothing lagged', () => {
    expect(passLag('')).toEqual({ gmailPasses: 0, counts: { lagging: 0, unreadableHeld: 0, unreadableTreatedAsDeleted: 0, resyncWaiting: 0 } });
  });
});

describe('bench: a run lagged as asked', () => {
  it('a lag-on run whose sandbox delayed no Gmail change is refused', () => {
    expect(lagMismatch(3000, { gmail: 0, calendar: 5 })).toBe('lag up to 3000 ms, yet the sandbox delayed no Gmail change');
    expect(lagMismatch(3000, { gmail: 12, calendar: 0 })).toBeNull();
  });

  it('a lag-off run whose sandbox delayed changes is refused', () => {
    expect(lagMismatch(null, { gmail: 0, calendar: 1 })).toBe('lag off, yet the sandbox delayed 1 changes');
    expect(lagMismatch(null, { gmail: 0, calendar: 0 })).toBeNull();
  });
});

describe('bench: Google calls per Gmail notification', () => {
  it('divides by the notifications Gmail sent, rounded to hundredths', () => {
    expect(perNotification(203, 100, true)).toBe(2.03);
    expect(perNotification(2, 3, true)).toBe(0.67);
  });
  it('has no figure where no push was handled or none was sent', () => {
    expect(perNotification(50, 100, false)).toBeNull();
    expect(perNotification(50, 0, true)).toBeNull();
  });
});

describe('bench: a lag-on run whose passes never met the lag', () => {
  const passes = (lagging: number, unreadableHeld = 0) => ({ gmailPasses: 10, counts: { lagging, unreadableHeld, unreadableTreatedAsDeleted: 0, resyncWaiting: 3 } });
  it('says so: its figures measure load, not lag (a resync waiting is no sign of lag met)', () => {
    expect(lagUnmet(3000, passes(0))).toMatch(/^no pass met the lag \(10 Gmail passes/);
  });
  it('nothing to say when a pass met it, or when the lag is off', () => {
    expect(lagUnmet(3000, passes(1))).toBeNull();
    expect(lagUnmet(3000, passes(0, 2))).toBeNull();
    expect(lagUnmet(null, passes(0))).toBeNull();
  });
});
