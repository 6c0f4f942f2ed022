import { mkdirSync } from 'node:fs';
import { runSoak } from '../../scripts/lib/soak';

/** The CI-sized chaos soak; `npm run soak` runs larger ones. The seed is printed for replay. */
test('chaos soak: nothing lost, nothing duplicated, every source active, no secret in the logs, the change stream equal to Firestore', async () => {
  const seed = Math.floor(Math.random() * 1_000_000);
  mkdirSync('test-results', { recursive: true });
  // A small outage keeps the CI soak short; `npm run soak` delivers 230 (past the old 200 cap).
  const report = await runSoak({ sources: 3, durationMs: 30_000, seed, logDir: 'test-results', outageMessages: 40 });
  const summary = `seed ${seed} (replay: npm run soak -- --sources 3 --minutes 0.5 --seed ${seed}); injected ${JSON.stringify(report.injected)}; activity ${JSON.stringify(report.activity)}`;
  expect({ summary, differences: report.differences, logLeaks: report.logLeaks }).toEqual({ summary, differences: [], logLeaks: [] });
  expect(report.activity['host-killed']).toBeGreaterThanOrEqual(1);
  for (const step of ['outage-with-expiry', 'google-clock-2h-ahead', 'disconnected-and-reconnected', 'revoked-and-reconnected', 'rule-changed']) expect(report.activity[step]).toBe(1);
  // The change stream's consumer (its view equals Firestore: checked in `differences`) got events.
  expect(report.stream.received).toBeGreaterThanOrEqual(report.checkedTasks);
  expect(report.stream.malformed).toBe(0);
  expect(report.checkedTasks).toBeGreaterThan(10);
  expect(report.audit).toMatchObject({ requested: 3, audited: 3, repaired: 0 });
}, 300_000);
