import { backlogOf, isIdle, waitForIdle, type Backlog, type Probe } from '../../scripts/bench/idle';
import { acknowledges, sumFlow } from '../../scripts/bench/usage';

const EMPTY: Backlog = { inFlight: 0, gmailNotifications: 0, syncRequests: 0, followUps: 0, pushes: 0 };

/** A fake clock whose sleep moves time on, and a probe answering from a script of checks. */
function scripted(checks: Probe[]) {
  let now = 0;
  let k = 0;
  const probe = () => Promise.resolve(checks[Math.min(k++, checks.length - 1)]!);
  const options = { quietChecks: 3, everyMs: 1000, maxMs: 60_000, now: () => now, sleep: (ms: number) => Promise.resolve(void (now += ms)) };
  return { probe, options, probed: () => k };
}

describe('bench: when the engine is idle', () => {
  it('counts what was published and not yet acknowledged, over both host processes and the bench itself', () => {
    const flow = sumFlow([
      { inFlight: 1, syncRequestsPublished: 10, acknowledged: { gmailPush: 7, syncWorker: 6 } },
      { inFlight: 0, syncRequestsPublished: 5, acknowledged: { gmailPush: 2, syncWorker: 8, gmailFollowUp: 3 } },
    ]);
    const backlog = backlogOf(flow, { pushes: { gmailPublished: 12 }, pending: { pushes: 1, tasks: 2 } }, 4);
    expect(backlog).toEqual({ inFlight: 1, gmailNotifications: 3, syncRequests: 5, followUps: 2, pushes: 1 });
    expect(isIdle(backlog)).toBe(false);
  });

  it('is idle with every queue at zero or below (a message delivered twice is acknowledged twice)', () => {
    expect(isIdle(EMPTY)).toBe(true);
    expect(isIdle({ ...EMPTY, syncRequests: -1 })).toBe(true);
    for (const key of Object.keys(EMPTY) as (keyof Backlog)[]) expect(isIdle({ ...EMPTY, [key]: 1 })).toBe(false);
  });

  it('takes 2xx and 102 as an acknowledgement, anything else as a delivery to retry', () => {
    expect([200, 204, 102].every(acknowledges)).toBe(true);
    expect([0, 400, 429, 500, 503].some(acknowledges)).toBe(false);
  });

  it('waits past a queue that empties, and times the settle to the first quiet check', async () => {
    const busy = (syncRequests: number, invocations: number): Probe => ({ backlog: { ...EMPTY, syncRequests }, invocations });
    const { probe, options, probed } = scripted([busy(40, 100), busy(12, 130), busy(0, 160), busy(0, 160), busy(0, 160)]);
    const settle = await waitForIdle(probe, options);
    expect(settle).toEqual({ ms: 2000, idle: true, first: { ...EMPTY, syncRequests: 40 }, last: EMPTY });
    expect(probed()).toBe(5);
  });

  it('starts counting quiet checks again when an invocation starts with every queue empty (a tail look due later)', async () => {
    const at = (invocations: number, followUps = 0): Probe => ({ backlog: { ...EMPTY, followUps }, invocations });
    const { probe, options } = scripted([at(5), at(5), at(6), at(6, 1), at(7), at(7), at(7)]);
    const settle = await waitForIdle(probe, options);
    expect(settle.idle).toBe(true);
    expect(settle.ms).toBe(4000);
  });

  it('gives up after maxMs and says so, rather than letting the next step count the backlog', async () => {
    const { probe, options } = scripted([{ backlog: { ...EMPTY, inFlight: 3 }, invocations: 1 }]);
    const settle = await waitForIdle(probe, { ...options, maxMs: 5000 });
    expect(settle.idle).toBe(false);
    expect(settle.ms).toBe(5000);
    expect(settle.last.inFlight).toBe(3);
  });
});
