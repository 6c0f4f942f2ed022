import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execute, lookups } from '../../scripts/deploy/deploy';
import { planGcloud, type DeployOptions } from '../../scripts/deploy/gcloud-plan';
import { buildManifest } from '../../scripts/deploy/manifest';

/**
 * deploy.sh's executor against a recording stand-in for gcloud and firebase (on PATH): what
 * it runs on an empty project, and that a second run on the same project creates nothing.
 */

const options: DeployOptions = { project: 'demo-p', region: 'us-central1', oauthClientId: 'id', connectReturnUrl: 'https://tasks.example.com', firestoreLocation: 'nam5', alertEmail: 'ops@example.com', sourceHash: 'h' };
const plan = planGcloud(buildManifest(), options);
const SECRET = 'the-client-secret';

/** A fake CLI: prints the answer recorded for its exact command line (exit 1 when none), logs every call. */
function fakeTools(answers: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'fake-gcloud-'));
  const script = `#!/usr/bin/env node
const fs = require('fs');
const key = [require('path').basename(process.argv[1]), ...process.argv.slice(2)].join(' ');
const stdin = fs.readFileSync(0, 'utf8');
fs.appendFileSync(${JSON.stringify(join(dir, 'calls.jsonl'))}, JSON.stringify({ key, stdin }) + '\\n');
const answers = JSON.parse(fs.readFileSync(${JSON.stringify(join(dir, 'answers.json'))}, 'utf8'));
if (key in answers) { process.stdout.write(answers[key]); process.exit(0); }
process.exit(/ (describe|list|access) /.test(key) ? 1 : 0);
`;
  for (const tool of ['gcloud', 'firebase']) {
    writeFileSync(join(dir, tool), script);
    chmodSync(join(dir, tool), 0o755);
  }
  writeFileSync(join(dir, 'answers.json'), JSON.stringify(answers));
  return {
    dir,
    calls: () => readFileSync(join(dir, 'calls.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; stdin: string }),
  };
}

const l = lookups(options);
const key = (argv: string[]) => argv.join(' ');
const resolved = (argv: string[]) => argv.map((a) => a.replace(/\{uri:(\w+)\}/g, (_, fn: string) => `https://${fn.toLowerCase()}-x.a.run.app`).replace('{projectNumber}', '42'));
const lookupAnswers = {
  [key(l.projectNumber)]: '42\n',
  [key(l.channel)]: 'projects/demo-p/notificationChannels/7\n',
  ...Object.fromEntries(Object.keys(buildManifest().functions).map((fn) => [key(l.uri(fn)), `https://${fn.toLowerCase()}-x.a.run.app\n`])),
};

function runWith(answers: Record<string, string>) {
  const fake = fakeTools(answers);
  const saved = { PATH: process.env.PATH, OAUTH_CLIENT_SECRET: process.env.OAUTH_CLIENT_SECRET };
  process.env.PATH = `${fake.dir}:${process.env.PATH ?? ''}`;
  process.env.OAUTH_CLIENT_SECRET = SECRET;
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    execute(plan, options);
  } finally {
    log.mockRestore();
    process.env.PATH = saved.PATH;
    if (saved.OAUTH_CLIENT_SECRET === undefined) delete process.env.OAUTH_CLIENT_SECRET;
    else process.env.OAUTH_CLIENT_SECRET = saved.OAUTH_CLIENT_SECRET;
  }
  return fake.calls();
}

describe('scripts/deploy.sh on a project', () => {
  it('creates everything on an empty project, APIs first, the secret only through standard input', () => {
    const calls = runWith(lookupAnswers);
    const changes = calls.filter((c) => !/ (describe|list|access) /.test(c.key));
    expect(changes[0]!.key).toMatch(/^gcloud --project=demo-p --quiet services enable /);
    expect(changes.filter((c) => c.key.includes(' functions deploy '))).toHaveLength(Object.keys(buildManifest().functions).length);
    expect(changes.find((c) => c.key.includes('secrets versions add'))!.stdin).toBe(SECRET);
    expect(calls.filter((c) => c.key.includes(SECRET))).toEqual([]);
    expect(changes.some((c) => c.key.includes('--push-endpoint=https://gmailpush-x.a.run.app/projects/demo-p/topics/gmail-watch'))).toBe(true);
    expect(changes.some((c) => c.key.includes('serviceAccount:service-42@gcp-sa-pubsub.iam.gserviceaccount.com'))).toBe(true);
    const policy = readFileSync(join(__dirname, '../../infra/.build/gcloud/alert-dead_letters.json'), 'utf8');
    expect(JSON.parse(policy)).toMatchObject({ notificationChannels: ['projects/demo-p/notificationChannels/7'] });
  });

  it('creates nothing on a second run: everything is found, unchanged functions are not redeployed', () => {
    const existing: Record<string, string> = { ...lookupAnswers };
    for (const step of plan.steps.filter((s) => s.find)) {
      existing[key(resolved(step.find!))] = step.expect === undefined ? 'found\n' : step.expect.replace('{env:OAUTH_CLIENT_SECRET}', SECRET);
    }
    existing[key(plan.steps.find((s) => s.create.includes('dashboards'))!.find!)] = 'projects/demo-p/dashboards/abc\n';
    const changes = runWith(existing).filter((c) => !/ (describe|list|access) /.test(c.key)).map((c) => c.key.replace('gcloud --project=demo-p --quiet ', ''));
    expect(changes.filter((c) => / create |functions deploy|versions add/.test(c) && !c.startsWith('beta services identity create'))).toEqual([]);
    expect(changes).toContain('monitoring dashboards update projects/demo-p/dashboards/abc --config-from-file=infra/dashboards/sync-engine.json');
    expect(changes.filter((c) => c.startsWith('logging metrics update'))).toHaveLength(Object.keys(buildManifest().metrics).length);
  });
});
