import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { covers, DASHBOARD_FILE, deployHashOf, execute, FILES_DIR, lookups, runCommand, withConditionIds, type Machine } from '../../scripts/deploy/deploy';
import { planGcloud, type Step } from '../../scripts/deploy/gcloud-plan';
import { demoOptions } from '../support/deploy-options';
import { buildManifest } from '../../scripts/deploy/manifest';

/**
 * deploy.sh's executor against a recording stand-in for gcloud and firebase (on PATH): what
 * it runs on an empty project, and a second run on the state the first run left, recorded
 * from the first run's own commands, that changes nothing.
 */

const options = demoOptions({ connectAllowedOrigins: 'https://a.example,https://b.example' });
const ROOT = join(__dirname, '../..');
const dashboard = readFileSync(join(ROOT, DASHBOARD_FILE), 'utf8');
const plan = planGcloud(buildManifest(), options, dashboard);
const SECRET = 'the-client-secret';

/** An answer: what the command prints and its exit code; a list is used one entry per call, the last repeating. */
type Answer = string | { stdout?: string; stderr?: string; code?: number }[];

/** A fake CLI: prints the answer recorded for its exact command line (exit 1 for an unknown look-up), logs every call. */
function fakeTools(answers: Record<string, Answer>) {
  const dir = mkdtempSync(join(tmpdir(), 'fake-gcloud-'));
  // Python starts several times faster than node, and a run makes a few hundred calls.
  const script = `#!/usr/bin/env python3
import json, os, sys
key = ' '.join([os.path.basename(sys.argv[0])] + sys.argv[1:])
stdin = sys.stdin.read()
calls = ${JSON.stringify(join(dir, 'calls.jsonl'))}
earlier = 0
if os.path.exists(calls):
    with open(calls) as f:
        earlier = sum(1 for line in f if line.strip() and json.loads(line)['key'] == key)
with open(calls, 'a') as f:
    f.write(json.dumps({'key': key, 'stdin': stdin, 'quota': os.environ.get('GOOGLE_CLOUD_QUOTA_PROJECT')}) + '\\n')
with open(${JSON.stringify(join(dir, 'answers.json'))}) as f:
    answer = json.load(f).get(key)
if isinstance(answer, str):
    sys.stdout.write(answer); sys.exit(0)
if isinstance(answer, list):
    a = answer[min(earlier, len(answer) - 1)]
    sys.stdout.write(a.get('stdout', '')); sys.stderr.write(a.get('stderr', '')); sys.exit(a.get('code', 0))
sys.exit(1 if any(' %s ' % w in key for w in ('describe', 'list', 'access', 'get-iam-policy')) else 0)
`;
  for (const tool of ['gcloud', 'firebase']) {
    writeFileSync(join(dir, tool), script);
    chmodSync(join(dir, tool), 0o755);
  }
  writeFileSync(join(dir, 'answers.json'), JSON.stringify(answers));
  return {
    dir,
    calls: () => readFileSync(join(dir, 'calls.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; stdin: string; quota?: string }),
  };
}

const l = lookups(options);
const key = (argv: string[]) => argv.join(' ');
const runUrl = (fn: string) => `https://${fn.toLowerCase()}-x.a.run.app`;
const resolved = (text: string) =>
  text
    .replace(/\{uri:(\w+)\}/g, (_, fn: string) => runUrl(fn))
    .replace(/\{projectNumber\}/g, '42')
    .replace(/\{channel\}/g, 'projects/demo-p/notificationChannels/7')
    .replace(/\{secretVersion:[\w-]+\}/g, '1')
    .replace('{env:OAUTH_CLIENT_SECRET}', SECRET);
const lookupAnswers: Record<string, Answer> = {
  [key(l.projectNumber)]: '42\n',
  [key(l.channel)]: 'projects/demo-p/notificationChannels/7\n',
  [key(l.secretVersion('sync-engine-oauth-client-secret'))]: '1\n',
  ...Object.fromEntries(Object.keys(buildManifest().functions).map((fn) => [key(l.uri(fn)), `${runUrl(fn)}\n`])),
};

/** A clock that moves only when the executor sleeps. */
function testClock(): Pick<Machine, 'now' | 'sleep'> & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return { slept, now: () => now, sleep: (s) => void (slept.push(s), (now += s * 1000)) };
}

type Call = { key: string; stdin: string; quota?: string | undefined };

/** The same answers as the fake tools, without a process per command (a run makes a few hundred). */
function inProcessTools(answers: Record<string, Answer>, calls: Call[]): Machine['run'] {
  return (argv, _capture, stdin, env) => {
    const key = argv.join(' ');
    const earlier = calls.filter((c) => c.key === key).length;
    calls.push({ key, stdin: stdin ?? '', quota: env?.GOOGLE_CLOUD_QUOTA_PROJECT });
    const answer = answers[key];
    if (typeof answer === 'string') return { ok: true, stdout: answer, stderr: '' };
    if (Array.isArray(answer)) {
      const a = answer[Math.min(earlier, answer.length - 1)]!;
      return { ok: (a.code ?? 0) === 0, stdout: a.stdout ?? '', stderr: a.stderr ?? '' };
    }
    return { ok: !LOOKS.test(key), stdout: '', stderr: '' };
  };
}

/** Runs the executor; `onPath` puts the fake tools on PATH (real processes) instead of answering in-process. */
function runWith(answers: Record<string, Answer>, clock = testClock(), onPath = false): Call[] {
  const fake = onPath ? fakeTools(answers) : null;
  const calls: Call[] = [];
  const saved = { PATH: process.env.PATH, OAUTH_CLIENT_SECRET: process.env.OAUTH_CLIENT_SECRET };
  if (fake) process.env.PATH = `${fake.dir}:${process.env.PATH ?? ''}`;
  process.env.OAUTH_CLIENT_SECRET = SECRET;
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  const error = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    execute(plan, options, { ...clock, run: fake ? runCommand : inProcessTools(answers, calls) });
  } finally {
    log.mockRestore();
    error.mockRestore();
    process.env.PATH = saved.PATH;
    if (saved.OAUTH_CLIENT_SECRET === undefined) delete process.env.OAUTH_CLIENT_SECRET;
    else process.env.OAUTH_CLIENT_SECRET = saved.OAUTH_CLIENT_SECRET;
  }
  return fake ? fake.calls() : calls;
}

const LOOKS = / (describe|list|access|get-iam-policy) /;
const short = (k: string) => k.replace('gcloud --project=demo-p --quiet ', '');
const flagOf = (k: string, name: string) => new RegExp(`--${name}=(\\S+)`).exec(k)?.[1];

/**
 * How the API shows a resource the first run made: its settings plus what the service adds
 * (a name, an etag, condition ids), without the zero values it leaves out.
 */
function asTheApiShowsIt(desired: unknown, name: string): unknown {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== 0 && x !== '0s').map(([k, x]) => [k, strip(x)]));
    return v;
  };
  const shown: Record<string, unknown> = { name, etag: 'e1', ...(strip(desired) as Record<string, unknown>) };
  if (Array.isArray(shown.conditions)) shown.conditions = (shown.conditions as object[]).map((c, i) => ({ name: `${name}/conditions/${1000 + i}`, ...c }));
  return shown;
}

type Policy = { etag: string; bindings: { role: string; members: string[] }[] };

/** The state after the first run, from its recorded commands: what each step's `find` would now print. */
function stateAfter(first: { key: string; stdin: string }[]): Record<string, Answer> {
  const state: Record<string, Answer> = { ...lookupAnswers };
  const deployed = new Map(first.filter((c) => c.key.includes(' functions deploy ')).map((c) => [c.key.split(' ')[5], flagOf(c.key, 'update-labels')!.replace('deploy-hash=', '')]));
  const labelled = first.find((c) => c.key.includes(' alpha projects update '));
  for (const step of plan.steps.filter((s): s is Step & { find: string[] } => s.find !== undefined && !s.wait)) {
    const find = key(step.find.map(resolved));
    const listed = step.find.includes('list');
    if (step.bound) {
      // The policy as the first run left it: every binding the plan makes on that resource.
      const policy = JSON.parse(typeof state[find] === 'string' ? state[find] : '{"etag":"e1","bindings":[]}') as Policy;
      const role = policy.bindings.find((b) => b.role === step.bound!.role) ?? (policy.bindings.push({ role: step.bound.role, members: [] }), policy.bindings.at(-1)!);
      role.members.push(resolved(step.bound.member));
      state[find] = JSON.stringify(policy);
    } else if (step.listed) state[find] = `${step.listed.join('\n')}\n`;
    else if (step.compare !== undefined) {
      const shown = asTheApiShowsIt(JSON.parse(resolved(step.compare)), `projects/demo-p/${step.create[3]}/${plan.steps.indexOf(step)}`);
      state[find] = JSON.stringify(listed ? [shown] : shown);
    } else if (step.deployHash !== undefined) state[find] = `ACTIVE\t${deployed.get(step.create[5])}\n`;
    else if (step.expect === options.firestoreHash) state[find] = `${flagOf(labelled!.key, 'update-labels')!.replace('sync-engine-firestore=', '')}\n`;
    else if (Array.isArray(step.expect)) state[find] = 'ACTIVE\n';
    else if (step.expect !== undefined) state[find] = resolved(step.expect);
    else state[find] ??= 'found\n';
  }
  state[key(plan.steps.find((s) => s.wait)!.find!)] = 'READY\nREADY\n';
  return state;
}

const changesOf = (calls: { key: string }[]) => calls.filter((c) => !LOOKS.test(c.key)).map((c) => short(c.key));

/** `state` with `member` taken out of `role` in the policy that `read` prints. */
function withoutBinding(state: Record<string, Answer>, read: string, role: string, member: string): Record<string, Answer> {
  const policy = JSON.parse(state[read] as string) as Policy;
  const bindings = policy.bindings.map((b) => (b.role === role ? { ...b, members: b.members.filter((m) => m !== member) } : b));
  return { ...state, [read]: JSON.stringify({ ...policy, bindings }) };
}

/** The planned read of a policy, by the start of its command (after the project flags). */
const lookupsOfPolicy = (start: string) => plan.steps.find((s) => s.bound && short(key(s.find!)).startsWith(start))!.find!;

describe('scripts/deploy.sh on a project', () => {
  let first: ReturnType<typeof runWith>;
  beforeAll(() => {
    first = runWith({ ...lookupAnswers, [key(plan.steps.find((s) => s.wait)!.find!)]: 'READY\n' }, testClock(), true);
  });

  it('creates everything on an empty project, APIs first, the secret only through standard input', () => {
    const changes = first.filter((c) => !LOOKS.test(c.key));
    expect(changes[0]!.key).toMatch(/^gcloud --project=demo-p --quiet services enable /);
    expect(changes.filter((c) => c.key.includes(' functions deploy '))).toHaveLength(Object.keys(buildManifest().functions).length);
    expect(changes.find((c) => c.key.includes('secrets versions add'))!.stdin).toBe(SECRET);
    expect(first.filter((c) => c.key.includes(SECRET))).toEqual([]);
    expect(changes.some((c) => c.key.includes('--push-endpoint=https://gmailpush-x.a.run.app/projects/demo-p/topics/gmail-watch'))).toBe(true);
    expect(changes.some((c) => c.key.includes('serviceAccount:service-42@gcp-sa-pubsub.iam.gserviceaccount.com'))).toBe(true);
    expect(changes.find((c) => c.key.startsWith('firebase deploy'))!.quota).toBe('demo-p');
    const policy = readFileSync(join(ROOT, FILES_DIR, 'alert-dead_letters.json'), 'utf8');
    expect(JSON.parse(policy)).toMatchObject({ notificationChannels: ['projects/demo-p/notificationChannels/7'] });
    // The env file as deployed: placeholders resolved, the comma-separated allow-list intact.
    const env = readFileSync(join(ROOT, FILES_DIR, 'env-connect.yaml'), 'utf8');
    expect(env).toContain('CONNECT_ALLOWED_ORIGINS: "https://a.example,https://b.example"');
    expect(env).toContain('FOLLOW_UP_URL: "https://gmailfollowup-42.us-central1.run.app"');
    expect(changes.find((c) => c.key.includes(' functions deploy connect '))!.key).toContain('--set-secrets=OAUTH_CLIENT_SECRET=sync-engine-oauth-client-secret:1');
  });

  it('changes nothing on a second run over the state the first one left', () => {
    const calls = runWith(stateAfter(first));
    expect(changesOf(calls)).toEqual([]);
    // One read per policy, not per binding; one for all the APIs.
    const reads = calls.filter((c) => c.key.includes(' get-iam-policy ')).map((c) => c.key);
    expect(reads.length).toBe(new Set(reads).size);
    expect(calls.filter((c) => c.key.includes(' services list '))).toHaveLength(1);
  });

  it('adds exactly the binding that went missing, enables exactly the API that was disabled', () => {
    const topicRead = key(lookupsOfPolicy('pubsub topics get-iam-policy gmail-push-dead-letter'));
    const agent = 'serviceAccount:service-42@gcp-sa-pubsub.iam.gserviceaccount.com';
    const apis = plan.steps.find((s) => s.listed)!;
    const state = { ...withoutBinding(stateAfter(first), topicRead, 'roles/pubsub.publisher', agent), [key(apis.find!)]: `${apis.listed!.slice(1).join('\n')}\n` };
    expect(changesOf(runWith(state))).toEqual([
      `services enable ${apis.listed![0]}`,
      `pubsub topics add-iam-policy-binding gmail-push-dead-letter --member=${agent} --role=roles/pubsub.publisher`,
    ]);
  });

  it('creates the Pub/Sub service agent only when the project policy does not show it', () => {
    const projectRead = key(lookupsOfPolicy('projects get-iam-policy demo-p'));
    const state = withoutBinding(stateAfter(first), projectRead, 'roles/pubsub.serviceAgent', 'serviceAccount:service-42@gcp-sa-pubsub.iam.gserviceaccount.com');
    expect(changesOf(runWith(state))).toEqual(['beta services identity create --service=pubsub.googleapis.com']);
  });

  it('redeploys a function whose last deploy FAILED, though it carries the current hash', () => {
    const state = stateAfter(first);
    const find = Object.keys(state).find((k) => k.includes('functions describe syncWorker') && k.includes('labels.deploy-hash'))!;
    state[find] = (state[find] as string).replace('ACTIVE', 'FAILED');
    const second = changesOf(runWith(state));
    expect(second.map((c) => c.split(' ').slice(0, 3).join(' '))).toEqual(['functions deploy syncWorker']);
  });

  it('redeploys every function that mounts the secret when a new secret version appears', () => {
    const state = { ...stateAfter(first), [key(l.secretVersion('sync-engine-oauth-client-secret'))]: '2\n' };
    const second = changesOf(runWith(state));
    const mounting = Object.entries(buildManifest().functions).filter(([, f]) => Object.keys(f.secrets).length > 0).map(([n]) => `functions deploy ${n}`);
    expect(second.map((c) => c.split(' ').slice(0, 3).join(' ')).sort()).toEqual(mounting.sort());
  });

  it('updates a changed alert policy in place, keeping its conditions’ ids', () => {
    const state = stateAfter(first);
    const find = Object.keys(state).find((k) => k.includes('policies list') && k.includes('sync errors'))!;
    const shown = JSON.parse(state[find] as string) as [{ name: string; conditions: { name: string; conditionThreshold: { thresholdValue: number } }[] }];
    shown[0].conditions[0]!.conditionThreshold.thresholdValue = 5;
    state[find] = JSON.stringify(shown);
    const second = changesOf(runWith(state));
    expect(second).toEqual([`alpha monitoring policies update ${shown[0].name} --policy-from-file=${FILES_DIR}/alert-sync_errors.json`]);
    const written = JSON.parse(readFileSync(join(ROOT, FILES_DIR, 'alert-sync_errors.json'), 'utf8')) as { conditions: { name: string; conditionThreshold: { thresholdValue: number } }[] };
    expect(written.conditions[0]).toMatchObject({ name: shown[0].conditions[0]!.name, conditionThreshold: { thresholdValue: 20 } });
  });

  it('retries a grant while a new identity propagates, waits for building indexes, and gives up on other errors at once', () => {
    const agent = 'serviceAccount:service-42@gcp-sa-pubsub.iam.gserviceaccount.com';
    const topicRead = key(lookupsOfPolicy('pubsub topics get-iam-policy gmail-push-dead-letter'));
    const state = withoutBinding(stateAfter(first), topicRead, 'roles/pubsub.publisher', agent);
    const grant = first.find((c) => c.key.includes('pubsub topics add-iam-policy-binding gmail-push-dead-letter'))!.key;
    state[grant] = [{ code: 1, stderr: 'ERROR: Service account service-42@gcp-sa-pubsub.iam.gserviceaccount.com does not exist.' }, { code: 0 }];
    state[key(plan.steps.find((s) => s.wait)!.find!)] = [{ stdout: 'READY\nCREATING\n' }, { stdout: 'READY\nCREATING\n' }, { stdout: 'READY\nREADY\n' }];
    const clock = testClock();
    const calls = runWith(state, clock);
    expect(calls.filter((c) => c.key === grant)).toHaveLength(2);
    expect(clock.slept).toEqual([30, 30, 30]);
    const failing = { ...state, [grant]: [{ code: 1, stderr: 'ERROR: PERMISSION_DENIED: caller lacks resourcemanager.projects.setIamPolicy' }] };
    expect(() => runWith(failing)).toThrow(/failed: gcloud .*gmail-push-dead-letter/);
  });
});

describe('compare, then skip', () => {
  it('finds a resource as wanted when the API shows every desired field, leaving out zero values', () => {
    expect(covers({ name: 'x', a: { b: 1, c: [1, 2] }, extra: true }, { a: { b: 1, c: [1, 2] } })).toBe(true);
    expect(covers({ a: {} }, { a: { xPos: 0, d: '0s', e: false } })).toBe(true);
    expect(covers({ a: { b: 2 } }, { a: { b: 1 } })).toBe(false);
    expect(covers({ c: [1] }, { c: [1, 2] })).toBe(false);
    expect(covers({}, { a: 'x' })).toBe(false);
  });

  it('carries the found condition ids by display name', () => {
    const file = JSON.stringify({ displayName: 'p', conditions: [{ displayName: 'one' }, { displayName: 'new' }] });
    const found = { conditions: [{ name: 'projects/p/alertPolicies/1/conditions/9', displayName: 'one' }] };
    expect(JSON.parse(withConditionIds(file, found))).toEqual({ displayName: 'p', conditions: [{ name: 'projects/p/alertPolicies/1/conditions/9', displayName: 'one' }, { displayName: 'new' }] });
  });

  it('hashes every flag of a function deploy and its env file', () => {
    const argv = ['gcloud', 'functions', 'deploy', 'f', '--memory=512Mi', '--concurrency=8'];
    const base = deployHashOf(argv, ['A: "1"\n'], 'pkg');
    expect(deployHashOf([...argv.slice(0, -1), '--concurrency=1'], ['A: "1"\n'], 'pkg')).not.toBe(base);
    expect(deployHashOf(argv, ['A: "2"\n'], 'pkg')).not.toBe(base);
    expect(deployHashOf(argv, ['A: "1"\n'], 'pkg2')).not.toBe(base);
    expect(deployHashOf(argv, ['A: "1"\n'], 'pkg')).toBe(base);
  });
});
