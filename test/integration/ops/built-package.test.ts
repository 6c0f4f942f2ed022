import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { FUNCTIONS } from '../../../functions/src/register';
import { spawnBuiltFunction } from '../../../scripts/lib/built-function';
import { gmailPush, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { waitFor } from '../../support/wait';

/**
 * What is deployed is the bundle `npm run build` makes (functions/lib/index.js), not the
 * sources the other tests load: it must register every function and serve them under the
 * Functions Framework as Cloud Functions starts it.
 */
const repo = join(__dirname, '../../..');

let stack: EngineStack;

beforeAll(async () => {
  execFileSync(join(repo, 'node_modules/.bin/tsx'), [join(repo, 'scripts/build-functions.ts')], { cwd: repo, stdio: 'pipe' });
  stack = await startEngineStack({ subscribeGmailPush: false });
}, 60_000);
afterAll(() => stack.close());

it('registers every function of the manifest', () => {
  const script = `require(${JSON.stringify(join(repo, 'functions/lib/index.js'))});
    const { getTestServer } = require('@google-cloud/functions-framework/testing');
    const missing = ${JSON.stringify(Object.keys(FUNCTIONS))}.filter((name) => { try { getTestServer(name); return false; } catch { return true; } });
    process.stdout.write(JSON.stringify(missing));`;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: repo, env: { ...process.env, ...stack.functionEnv }, encoding: 'utf8' });
  expect(JSON.parse(out)).toEqual([]);
});

it('turns a Gmail push into a task when served from the bundle', async () => {
  await stack.connect('built-src', 'built@example.com', 'built-user');
  const { historyId } = await stack.admin.account('built@example.com');
  await stack.services.sources.update('built-src', new Date(), () => ({ historyId }));
  const mail = await stack.admin.deliverMail('built@example.com', { subject: 'served from the bundle' });

  const { url, child } = await spawnBuiltFunction('gmailPush', { ...process.env, ...stack.functionEnv });
  try {
    // Retried until the process listens (a refused connection throws).
    const status = await waitFor(() => gmailPush(stack, 'built@example.com', mail.historyId, 'built-1', url), 20_000, 50);
    expect(status).toBe(204);
    const task = await waitFor(async () => (await stack.db.doc(`users/built-user/tasks/built-src:gmail:${mail.id}`).get()).data());
    expect(task).toMatchObject({ origin: 'gmail', externalId: mail.id, title: 'served from the bundle', status: 'open' });
  } finally {
    child.kill('SIGTERM');
  }
});
