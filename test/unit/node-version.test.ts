import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { nodeVersionProblem } from '../../scripts/lib/node-version';

describe('the Node version check of npm test and npm start', () => {
  it('refuses Node older than 24 with a message that says what to do', () => {
    expect(nodeVersionProblem('v20.19.5')).toMatch(/needs Node 24 or later, but it is running on Node v20\.19\.5\. Run it through npm/);
    expect(nodeVersionProblem('v22.12.0')).not.toBeNull();
    expect(nodeVersionProblem('v24.0.0')).toBeNull();
    expect(nodeVersionProblem('v25.1.0')).toBeNull();
  });

  it('runs these tests on Node 24, as npm scripts do', () => {
    expect(nodeVersionProblem()).toBeNull();
  });

  it('stops scripts/test.ts on an older system node before starting anything', () => {
    const system = spawnSync('/usr/bin/node', ['--version'], { encoding: 'utf8' });
    if (system.error || nodeVersionProblem(system.stdout.trim()) === null) {
      console.warn('no older system node here: only the message is checked');
      return;
    }
    const tsx = join(__dirname, '../../node_modules/tsx/dist/cli.mjs');
    const result = spawnSync('/usr/bin/node', [tsx, join(__dirname, '../../scripts/test.ts')], { encoding: 'utf8', timeout: 30_000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('needs Node 24 or later');
    expect(result.stdout).not.toContain('Starting the Firestore');
  }, 30_000);
});
