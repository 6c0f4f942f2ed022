/**
 * `npm run soak`: the chaos soak with a ground-truth check (see scripts/lib/soak.ts).
 *
 *   npm run soak                                   20 sources, 3 minutes, a random seed
 *   npm run soak -- --sources 200 --minutes 10 --seed 1234
 *   npm run soak -- --outage 500                   mail piled up during the long outage (default 230)
 */
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runSoak } from './lib/soak';

const { values } = parseArgs({ options: { sources: { type: 'string', default: '20' }, minutes: { type: 'string', default: '3' }, seed: { type: 'string' }, outage: { type: 'string', default: '230' } } });
const seed = Number(values.seed ?? Math.floor(Math.random() * 1_000_000));
const started = Date.now();
mkdirSync('bench-results', { recursive: true });
console.log(`Soak: ${values.sources} sources for ${values.minutes} min, seed ${seed} (replay with --seed ${seed})`);
runSoak({
  sources: Number(values.sources),
  durationMs: Number(values.minutes) * 60_000,
  outageMessages: Number(values.outage),
  seed,
  logDir: 'bench-results',
  onProgress: (line) => process.stdout.write(`\r[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line.slice(0, 110).padEnd(110)}`),
}).then(
  (report) => {
    console.log('\n\nInjected by the sandbox:', JSON.stringify(report.injected));
    console.log('Activity and chaos:', JSON.stringify(report.activity));
    console.log(`Checked ${report.checkedTasks} tasks against the ground truth.`);
    console.log('Statuses:', JSON.stringify(report.statuses));
    console.log(`Closing audit: ${report.audit.audited} of ${report.audit.requested} sources audited, ${report.audit.repaired} tasks repaired.`);
    const problems = [...report.differences, ...report.logLeaks];
    if (problems.length === 0) console.log(`\nNo differences. Seed ${seed}.`);
    else console.log(`\n${problems.length} differences (seed ${seed}):\n  ${problems.slice(0, 50).join('\n  ')}`);
    process.exit(problems.length === 0 ? 0 : 1);
  },
  (error: unknown) => {
    console.error(`\nSoak failed to run (seed ${seed}):`, error);
    process.exit(1);
  },
);
