import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectThroughFlow } from '../../scripts/lib/connect-client';
import { emulatorSignIn } from '../../scripts/lib/demo';
import { SandboxAdmin } from '../../sandbox/src/admin-client';
import { waitFor } from '../support/wait';

/** `npm start` as a person runs it, from the repo, each run with its own .local directory. */
const repo = join(__dirname, '../..');

// Bounds for starting a whole stack (three emulators, sandbox, functions), not latency checks:
// on a loaded 2-core machine a start has taken minutes.
const STACK_START_MS = 240_000;
const TEST_MS = STACK_START_MS + 60_000;

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number>;
  localDir: string;
}

function npmStart(args: string[], localDir = mkdtempSync(join(tmpdir(), 'sync-local-'))): Run {
  // The child starts its own emulators: it must not inherit the test run's.
  const { FIRESTORE_EMULATOR_HOST: _f, PUBSUB_EMULATOR_HOST: _p, ...env } = process.env;
  // A process group of its own, so Ctrl-C (SIGINT to the group) reaches npm's children as in a terminal.
  const child = spawn('npm', ['start', '--', ...args], { cwd: repo, env: { ...env, SYNC_LOCAL_DIR: localDir }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  return { child, output: () => output, exited, localDir };
}

async function readStack(localDir: string): Promise<Record<string, string> & { functions: Record<string, string> }> {
  const file = join(localDir, 'stack.json');
  type StackFile = Record<string, string> & { functions: Record<string, string> };
  return waitFor(() => {
    if (!existsSync(file)) return Promise.resolve(null);
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<StackFile>;
    return Promise.resolve(parsed.functionsUrl && parsed.functions ? (parsed as StackFile) : null);
  }, STACK_START_MS, 200);
}

test('npm start -- --once runs the scenario, prints the summary and exits 0', async () => {
  const run = npmStart(['--once']);
  expect(await run.exited).toBe(0);
  const output = run.output();
  expect(output).toMatch(/Status page\s+http:\/\/127\.0\.0\.1:\d+\/sourceStatus\n\s+Sign in there as\s+demo@example\.com \/ demo-password/);
  expect(output).toMatch(/✓ mail "Welcome to the sync engine demo" → open task\s+\d+ ms/);
  expect(output).toMatch(/✓ mail archived → task archived/);
  expect(output).toMatch(/Example host app\s+http:\/\/127\.0\.0\.1:\d+\//);
  expect(output).toMatch(/Summary: 3 tasks, 5 changes seen, latency p50 \d+ ms, p99 \d+ ms/);
  // The local receiver got the change stream, verified (OIDC) and printed.
  expect(output).toMatch(/⇢ dev\.pushsync\.task\.changed\.v1 users\/\S+\/tasks\/\S+ v1 open/);
  expect(existsSync(join(run.localDir, 'stack.json'))).toBe(false);
}, TEST_MS);

describe('npm start -- --no-demo', () => {
  let run: Run;
  afterAll(async () => {
    process.kill(-run.child.pid!, 'SIGINT');
    expect(await run.exited).not.toBe(0);
    // Ctrl-C leaves nothing behind: the stack description is removed with the stack.
    expect(existsSync(join(run.localDir, 'stack.json'))).toBe(false);
  }, 120_000);

  it('lets an outside script connect an account, deliver mail and find the task, using only .local/stack.json', async () => {
    run = npmStart(['--no-demo']);
    const stack = await readStack(run.localDir);
    const admin = new SandboxAdmin(stack.sandboxUrl!);
    await admin.createAccount('outsider@example.com');
    const user = await emulatorSignIn(stack.authEmulatorHost!, 'outsider@example.com', 'outside-password');
    const walk = await connectThroughFlow(stack.functions.connect!, user.idToken, 'outsider@example.com');
    expect(walk.confirmed?.status).toBe(200);
    // The connect flow returns to the example host app, which serves its page with a nonce CSP.
    expect(walk.location?.startsWith(`${stack.hostAppUrl}#status=confirm&link=`)).toBe(true);
    const hostPage = await fetch(stack.hostAppUrl!);
    expect(hostPage.status).toBe(200);
    expect(hostPage.headers.get('content-security-policy')).toMatch(/script-src 'nonce-[^']+'/);
    expect(await hostPage.text()).toContain('<title>Example host app</title>');
    await new Promise((r) => setTimeout(r, 1100));
    await admin.deliverMail('outsider@example.com', { subject: 'found from outside' });

    // Firestore through the emulator's REST API: host and project from stack.json only.
    const tasksUrl = `http://${stack.firestoreEmulatorHost}/v1/projects/${stack.projectId}/databases/(default)/documents/users/${user.uid}/tasks`;
    const titles = await waitFor(async () => {
      const body = (await (await fetch(tasksUrl, { headers: { Authorization: 'Bearer owner' } })).json()) as { documents?: { fields: { title: { stringValue: string } } }[] };
      const found = (body.documents ?? []).map((d) => d.fields.title.stringValue);
      return found.length > 0 ? found : null;
    }, 20_000);
    expect(titles).toEqual(['found from outside']);
    const status = (await (await fetch(stack.statusUrl!, { headers: { Authorization: `Bearer ${user.idToken}` } })).json()) as { sources: { email: string }[] };
    expect(status.sources.map((s) => s.email)).toEqual(['outsider@example.com']);
  }, TEST_MS);

  it('refuses a second start in the same checkout with a clear message', async () => {
    const second = npmStart(['--no-demo'], run.localDir);
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain('The local stack is already running');
    expect(second.output()).not.toMatch(/\n\s+at /);
  }, TEST_MS);
});

test('a taken port fails with a clear message instead of a stack trace', async () => {
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    const run = npmStart(['--no-demo', '--functions-port', String(port)]);
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain(`Port ${port} on 127.0.0.1 is already in use`);
    expect(run.output()).not.toMatch(/\n\s+at /);
  } finally {
    blocker.close();
  }
}, 120_000);
