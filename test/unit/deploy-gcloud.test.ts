import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FUNCTIONS } from '../../functions/src/register';
import { DASHBOARD_FILE, formatPlan, lookups } from '../../scripts/deploy/deploy';
import { BUILD_RETRY, memberOf, NEW_IDENTITY_RETRY, planGcloud, renderEnv } from '../../scripts/deploy/gcloud-plan';
import { demoOptions } from '../support/deploy-options';
import { buildManifest, type Manifest } from '../../scripts/deploy/manifest';
import { preflightCommands } from '../../scripts/deploy/preflight';

/** scripts/deploy.sh: what --dry-run prints, checked offline against the manifest and gcloud's own parser. */

const options = demoOptions();
const m = buildManifest();
const dashboard = readFileSync(join(__dirname, '../..', DASHBOARD_FILE), 'utf8');
const plan = planGcloud(m, options, dashboard);
const steps = plan.steps.filter((s) => !s.section);
/** A function's environment as deployed: the YAML file its deploy names (one `KEY: "json string"` a line). */
const envFile = (content: string) => Object.fromEntries(content.trim().split('\n').map((line) => [line.slice(0, line.indexOf(':')), JSON.parse(line.slice(line.indexOf(':') + 2)) as string]));
const deployOf = (p: typeof plan, name: string) => p.steps.find((s) => s.create[3] === 'functions' && s.create[4] === 'deploy' && s.create[5] === name)!;
const commands = steps.flatMap((s) => [s.find, s.create, s.update].filter((c): c is string[] => c !== undefined));
const gcloud = (argv: string[]) => argv.slice(3).join(' ');
const flag = (argv: string[], name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const creates = (pattern: RegExp) => steps.map((s) => s.create).filter((c) => pattern.test(gcloud(c)));
const M = (member: string) => memberOf(member, options.project);

describe('scripts/deploy.sh --dry-run', () => {
  it('prints the plan, one command per line, and runs nothing', () => {
    const args = ['--dry-run', '--project', 'demo-p', '--oauth-client-id', options.oauthClientId, '--connect-return-url', options.connectReturnUrl, '--alert-email', 'ops@example.com'];
    const printed = execFileSync('bash', [join(__dirname, '../../scripts/deploy.sh'), ...args], { encoding: 'utf8', env: { ...process.env, OAUTH_CLIENT_SECRET: 'never-printed-7f3a' } });
    // The Firestore hash differs (the real files): compare with it masked.
    const mask = (text: string) => text.replace(/sync-engine-firestore=\w+/g, 'sync-engine-firestore=*').replace(/\(done when it prints \w+\)/g, '(done when it prints *)');
    expect(mask(printed)).toBe(mask(formatPlan(plan, options)));
    expect(printed).not.toContain('never-printed-7f3a');
    expect(printed).toContain('secrets versions add sync-engine-oauth-client-secret --data-file=- < $OAUTH_CLIENT_SECRET');
  });

  it('enables the APIs first and creates the Pub/Sub service agent before granting it anything', () => {
    const order = commands.map(gcloud);
    // One read of the enabled APIs, then one command enabling the missing ones.
    expect(order.slice(0, 2).map((c) => c.split(' ').slice(0, 2).join(' '))).toEqual(['services list', 'services enable']);
    expect(order[0]).toBe('services list --enabled --format=value(config.name)');
    expect(steps[0]!.listed).toEqual(m.apis);
    for (const api of m.apis) expect(order[1]).toContain(api);
    const agent = order.findIndex((c) => c.startsWith('beta services identity create --service=pubsub.googleapis.com'));
    const firstGrant = order.findIndex((c) => c.includes('gcp-sa-pubsub'));
    expect(agent).toBeGreaterThan(0);
    expect(agent).toBeLessThan(firstGrant);
    const lastFunction = order.findLastIndex((c) => c.startsWith('functions deploy'));
    expect(order.findIndex((c) => c.startsWith('pubsub subscriptions create gmail-push '))).toBeGreaterThan(lastFunction);
    expect(order.findIndex((c) => c.startsWith('logging metrics create'))).toBeLessThan(order.findIndex((c) => c.startsWith('alpha monitoring policies create')));
  });

  it('deploys exactly the registered functions on nodejs24, with the build account and only their own secrets', () => {
    const deploys = creates(/^functions deploy /);
    expect(deploys.map((c) => c[5]).sort()).toEqual(Object.keys(FUNCTIONS).sort());
    for (const argv of deploys) {
      const name = argv[5]!;
      const f = m.functions[name]!;
      expect(argv).toEqual(expect.arrayContaining(['--gen2', '--runtime=nodejs24', `--entry-point=${name}`, '--trigger-http']));
      expect(flag(argv, 'build-service-account')).toBe('projects/demo-p/serviceAccounts/sync-engine-build@demo-p.iam.gserviceaccount.com');
      expect(flag(argv, 'service-account')).toBe(`sync-engine-${f.account}@demo-p.iam.gserviceaccount.com`);
      // Pinned to the newest version, resolved at run time: a new version redeploys.
      const secrets = Object.entries(f.secrets).map(([v, s]) => `${v}=${s}:{secretVersion:${s}}`).join(',');
      if (secrets) expect(flag(argv, 'set-secrets')).toBe(secrets);
      else expect(argv).toContain('--clear-secrets');
      expect(argv.some((a) => a.startsWith('--set-env-vars'))).toBe(false);
      expect(envFile(plan.files[flag(argv, 'env-vars-file')!.slice('{file:'.length, -1)]!)).toEqual(renderEnv({ ...m.env, ...f.env }, options));
      expect([flag(argv, 'cpu'), flag(argv, 'memory'), flag(argv, 'concurrency'), flag(argv, 'max-instances')]).toEqual([f.cpu, f.memory, String(f.concurrency), String(f.maxInstances)]);
    }
  });

  it('keeps public functions public on every deploy: --allow-unauthenticated, never --no-allow-unauthenticated', () => {
    for (const [name, f] of Object.entries(m.functions)) {
      const argv = deployOf(plan, name).create;
      expect([name, argv.includes('--allow-unauthenticated'), argv.includes('--no-allow-unauthenticated')]).toEqual([name, f.public, !f.public]);
    }
  });

  it('sets NODE_ENV=production everywhere and the sign-in settings when given (a comma survives the env file)', () => {
    const bare = envFile(plan.files['env-connect.yaml']!);
    expect(bare.NODE_ENV).toBe('production');
    for (const unset of ['FIREBASE_PROJECT_ID', 'FIREBASE_API_KEY', 'CONNECT_SERVER_CALLERS', 'CONNECT_ALLOWED_ORIGINS']) expect(bare).not.toHaveProperty(unset);
    const signIn = { firebaseProjectId: 'app-prod', firebaseApiKey: 'AIzaKey', connectServerCallers: 'a@x.iam.gserviceaccount.com,b@x.iam.gserviceaccount.com', connectAllowedOrigins: 'https://a.example,https://b.example' };
    const withSignIn = planGcloud(m, { ...options, ...signIn }, dashboard);
    for (const name of Object.keys(m.functions)) {
      const env = envFile(withSignIn.files[`env-${name}.yaml`]!);
      expect(env).toMatchObject({ NODE_ENV: 'production', FIREBASE_PROJECT_ID: 'app-prod', FIREBASE_API_KEY: 'AIzaKey', CONNECT_SERVER_CALLERS: signIn.connectServerCallers, CONNECT_ALLOWED_ORIGINS: signIn.connectAllowedOrigins });
    }
  });

  it('gives Cloud Tasks the run.app address of gmailFollowUp as target and OIDC audience', () => {
    const env = envFile(plan.files['env-gmailPush.yaml']!);
    // Cloud Run names a gen2 function's service by its lower-cased name; the deterministic URL's first label must fit DNS (63).
    expect(env.FOLLOW_UP_URL).toBe('https://gmailfollowup-{projectNumber}.us-central1.run.app');
    expect('gmailfollowup-123456789012'.length).toBeLessThanOrEqual(63);
    expect(m.invokers).toContainEqual({ resource: 'gmailFollowUp', member: 'account:tasks-invoker', role: 'roles/run.invoker' });
  });

  it('retries grants to new identities and builds while IAM propagates; sends a quota project to firebase-tools', () => {
    for (const s of steps.filter((x) => /add-iam-policy-binding|add-invoker-policy-binding/.test(gcloud(x.create)))) {
      const grantee = flag(s.create, 'member')!;
      if (/sync-engine-|gcp-sa-pubsub/.test(grantee)) expect([gcloud(s.create), s.retry]).toEqual([gcloud(s.create), NEW_IDENTITY_RETRY]);
    }
    for (const s of steps.filter((x) => gcloud(x.create).startsWith('functions deploy'))) expect(s.retry).toBe(BUILD_RETRY);
    expect(new RegExp(BUILD_RETRY.when, 'i').test('ERROR: Access to bucket gcf-v2-sources-123-us-central1 denied')).toBe(true);
    expect(new RegExp(NEW_IDENTITY_RETRY.when, 'i').test('INVALID_ARGUMENT: Service account service-42@gcp-sa-pubsub.iam.gserviceaccount.com does not exist.')).toBe(true);
    const firebase = steps.find((s) => s.create[0] === 'firebase')!;
    expect(firebase.env).toEqual({ GOOGLE_CLOUD_QUOTA_PROJECT: 'demo-p' });
  });

  it('waits for the TTL operations and the composite indexes before anything queries them', () => {
    const ttl = steps.filter((s) => gcloud(s.create).startsWith('firestore fields ttls update'));
    expect(ttl).toHaveLength(m.ttl.length);
    for (const s of ttl) expect(s.create).not.toContain('--async');
    const order = steps.map((s) => (s.wait ? 'wait-indexes' : gcloud(s.create)));
    const firebase = steps.findIndex((s) => s.create[0] === 'firebase');
    expect(Math.max(...ttl.map((s) => steps.indexOf(s)))).toBeLessThan(firebase);
    expect(order.indexOf('wait-indexes')).toBeGreaterThan(firebase);
    expect(order.indexOf('wait-indexes')).toBeLessThan(order.findIndex((c) => c.startsWith('scheduler jobs create')));
  });

  it('lets the Pub/Sub push account invoke the Pub/Sub-driven functions, with dead letters on create and update', () => {
    for (const [name, s] of Object.entries(m.subscriptions)) {
      expect(commands.map(gcloud)).toContain(`functions add-invoker-policy-binding ${s.function} --region=us-central1 --member=${M('account:pubsub-invoker')}`);
      const step = steps.find((x) => gcloud(x.create).startsWith(`pubsub subscriptions create ${name} `))!;
      for (const argv of [step.create, step.update!]) {
        expect(flag(argv, 'dead-letter-topic')).toBe(s.deadLetterTopic);
        expect(flag(argv, 'max-delivery-attempts')).toBe(String(s.maxDeliveryAttempts));
        expect(flag(argv, 'push-auth-service-account')).toBe('sync-engine-pubsub-invoker@demo-p.iam.gserviceaccount.com');
        expect(flag(argv, 'push-endpoint')).toBe(`{uri:${s.function}}/projects/demo-p/topics/${s.topic}`);
      }
    }
  });

  it('is safe to re-run: every change looks first and compares, the dashboard is found by display name', () => {
    const unguarded = steps.filter((s) => s.create.length > 0 && !s.find);
    expect(unguarded.map((s) => s.create.join(' '))).toEqual([]);
    const dashboardStep = steps.find((s) => gcloud(s.create).startsWith('monitoring dashboards create'))!;
    expect(gcloud(dashboardStep.find!)).toContain('--filter=displayName="Sync engine"');
    expect(gcloud(dashboardStep.update!)).toMatch(/^monitoring dashboards update \{found\} /);
    expect(dashboardStep.compare).toBe(dashboard);
    // Whatever has an update compares first: a second run finds them as wanted and skips them.
    for (const kind of ['logging metrics', 'scheduler jobs', 'alpha monitoring policies', 'pubsub subscriptions create gmail-push ', 'tasks queues', 'monitoring dashboards']) {
      const step = steps.find((s) => gcloud(s.create).startsWith(kind))!;
      expect([kind, step.update !== undefined, step.compare !== undefined, step.find!.includes('--format=json')]).toEqual([kind, true, true, true]);
    }
    for (const s of steps.filter((x) => gcloud(x.create).startsWith('alpha monitoring policies create'))) expect(s.keepConditionIds).toBe(flag(s.create, 'policy-from-file')!.slice('{file:'.length, -1));
    const functions = steps.filter((s) => gcloud(s.create).startsWith('functions deploy'));
    for (const s of functions) {
      expect(flag(s.create, 'update-labels')).toBe('deploy-hash={deployHash}');
      // Done only when ACTIVE with the same hash: a FAILED deploy carries the label too.
      expect([s.expect, gcloud(s.find!)]).toEqual(['ACTIVE\t{deployHash}', expect.stringContaining('--format=value(state,labels.deploy-hash)')]);
      expect(s.deployHash).toBe('test');
    }
    const firestore = steps.filter((s) => s.expect === options.firestoreHash);
    expect(firestore.map((s) => s.create[0] === 'firebase' ? 'firebase deploy' : gcloud(s.create))).toEqual(['firebase deploy', `alpha projects update demo-p --update-labels=sync-engine-firestore=${options.firestoreHash}`]);
  });

  it('differs from Terraform in no resource or role (both are read from the manifest)', () => {
    expect(inventoryFromPlan()).toEqual(inventoryFromManifest(m));
  });

  it('passes gcloud 528’s own argument parser: every command fails only for lack of an account', () => {
    const root = dirname(dirname(realpathSync(execFileSync('bash', ['-c', 'command -v gcloud'], { encoding: 'utf8' }).trim())));
    const dir = mkdtempSync(join(tmpdir(), 'gcloud-parse-'));
    for (const [name, content] of Object.entries(plan.files)) writeFileSync(join(dir, name), content);
    const sample: Record<string, string> = { '{projectNumber}': '123456789012', '{found}': 'projects/demo-p/dashboards/abc', '{channel}': 'projects/demo-p/notificationChannels/1', '{deployHash}': '0123456789abcdef' };
    const concrete = (argv: string[]) =>
      argv.map((a) =>
        a
          .replace(/\{uri:(\w+)\}/g, (_, fn: string) => `https://${fn.toLowerCase()}-abc-uc.a.run.app`)
          .replace(/\{file:([\w.-]+)\}/g, (_, f: string) => join(dir, f))
          .replace(/\{secretVersion:[\w-]+\}/g, '3')
          .replace(/\{\w+\}/g, (p) => (a.includes('policies update') ? 'projects/demo-p/alertPolicies/1' : (sample[p] ?? p))),
      );
    const l = lookups(options);
    const checks = Object.values(preflightCommands(options)).filter((c) => c[1] !== 'auth');
    const all = [...commands, ...checks, l.projectNumber, l.uri('gmailPush'), l.secretVersion('sync-engine-oauth-client-secret'), l.channel].filter((c) => c[0] === 'gcloud').map((c) => concrete(c).slice(1));
    const started = Date.now();
    const result = spawnSync(join(root, 'platform/bundledpythonunix/bin/python3'), [join(__dirname, '../support/gcloud-parse.py')], {
      input: JSON.stringify(all),
      encoding: 'utf8',
      cwd: join(__dirname, '../..'),
      env: { PATH: process.env.PATH, HOME: dir, GCLOUD_ROOT: root, CLOUDSDK_CONFIG: mkdtempSync(join(tmpdir(), 'gcloud-config-')), CLOUDSDK_CORE_DISABLE_PROMPTS: '1', CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false', CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: '1' },
      timeout: 120_000,
    });
    const outcomes = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { code: number | string; error: string });
    expect(outcomes).toHaveLength(all.length);
    const wrong = outcomes.map((o, i) => ({ command: all[i]!.join(' '), ...o })).filter((o) => !(o.code === 1 && /You do not currently have an active account selected/.test(o.error)));
    expect(wrong).toEqual([]);
    console.log(`gcloud parsed ${all.length} commands in ${Date.now() - started} ms`);
  }, 120_000);
});

/** Resources and bindings as the gcloud plan creates them. */
function inventoryFromPlan(): string[] {
  const items: string[] = [];
  for (const argv of steps.map((s) => s.create).filter((c) => c[0] === 'gcloud')) {
    const c = argv.slice(3);
    const cmd = c.join(' ');
    const binding = `${flag(argv, 'member')} ${flag(argv, 'role')}`;
    if (cmd.startsWith('services enable')) items.push(...c.slice(2).map((api) => `api ${api}`));
    else if (cmd.startsWith('beta services identity create')) items.push(`agent ${flag(argv, 'service')}`);
    else if (cmd.startsWith('iam service-accounts create')) items.push(`account ${c[3]}`);
    else if (cmd.startsWith('projects add-iam-policy-binding')) items.push(`project-role ${binding}`);
    else if (cmd.startsWith('iam service-accounts add-iam-policy-binding')) items.push(`account-role ${c[3]} ${binding}`);
    else if (cmd.startsWith('pubsub topics create')) items.push(`topic ${c[3]}`);
    else if (cmd.startsWith('pubsub topics add-iam-policy-binding')) items.push(`topic-role ${c[3]} ${binding}`);
    else if (cmd.startsWith('pubsub subscriptions create')) items.push(`subscription ${c[3]} ${flag(argv, 'topic')} ${flag(argv, 'dead-letter-topic') ?? ''}`);
    else if (cmd.startsWith('pubsub subscriptions add-iam-policy-binding')) items.push(`subscription-role ${c[3]} ${binding}`);
    else if (cmd.startsWith('kms keys add-iam-policy-binding')) items.push(`key-role ${binding}`);
    else if (cmd.startsWith('secrets create')) items.push(`secret ${c[2]}`);
    else if (cmd.startsWith('secrets add-iam-policy-binding')) items.push(`secret-role ${c[2]} ${binding}`);
    else if (cmd.startsWith('functions deploy')) items.push(`function ${c[2]} ${flag(argv, 'service-account')} ${flag(argv, 'set-secrets') ?? ''} ${flag(argv, 'timeout')} ${flag(argv, 'cpu')} ${flag(argv, 'memory')} ${flag(argv, 'concurrency')} ${flag(argv, 'max-instances')}`);
    else if (cmd.startsWith('functions add-invoker-policy-binding')) items.push(`invoker ${c[2]} ${flag(argv, 'member')}`);
    else if (cmd.startsWith('scheduler jobs create http')) items.push(`job ${c[4]} ${flag(argv, 'schedule')} ${flag(argv, 'uri')}`);
    else if (cmd.startsWith('tasks queues create')) items.push(`queue ${c[3]}`);
    else if (cmd.startsWith('tasks queues add-iam-policy-binding')) items.push(`queue-role ${c[3]} ${binding}`);
    else if (cmd.startsWith('logging metrics create')) items.push(`metric ${c[3]}`);
    else if (cmd.startsWith('alpha monitoring policies create')) items.push(`alert ${(JSON.parse(plan.files[flag(argv, "policy-from-file")!.slice(6, -1)]!) as { displayName: string }).displayName}`);
    else if (cmd.startsWith('firestore fields ttls update')) items.push(`ttl ${flag(argv, 'collection-group')}.${c[4]}`);
  }
  return items.sort();
}

/** The same, as Terraform's for_each over the manifest creates them (infra/*.tf read the same keys). */
function inventoryFromManifest(manifest: Manifest): string[] {
  const b = (x: { member: string; role: string }) => `${M(x.member)} ${x.role}`;
  const email = (key: string) => `sync-engine-${key}@demo-p.iam.gserviceaccount.com`;
  return [
    ...manifest.apis.map((a) => `api ${a}`),
    ...Object.values(manifest.serviceAgents).map((s) => `agent ${s}`),
    ...Object.keys(manifest.accounts).map((k) => `account sync-engine-${k}`),
    ...manifest.projectRoles.map((x) => `project-role ${b(x)}`),
    ...manifest.accountUsers.map((x) => `account-role ${email(x.resource)} ${b(x)}`),
    ...manifest.topics.map((t) => `topic ${t}`),
    ...manifest.topicRoles.map((x) => `topic-role ${x.resource} ${b(x)}`),
    ...Object.entries(manifest.subscriptions).map(([n, s]) => `subscription ${n} ${s.topic} ${s.deadLetterTopic}`),
    ...Object.entries(manifest.deadLetterInspection).map(([n, t]) => `subscription ${n} ${t} `),
    ...manifest.subscriptionRoles.map((x) => `subscription-role ${x.resource} ${b(x)}`),
    ...manifest.keyRoles.map((x) => `key-role ${b(x)}`),
    ...Object.values(manifest.secrets).map((s) => `secret ${s}`),
    ...manifest.secretRoles.map((x) => `secret-role ${x.resource} ${b(x)}`),
    ...Object.entries(manifest.functions).map(
      ([n, f]) => `function ${n} ${email(f.account)} ${Object.entries(f.secrets).map(([v, s]) => `${v}=${s}:{secretVersion:${s}}`).join(',')} ${f.timeoutSeconds}s ${f.cpu} ${f.memory} ${f.concurrency} ${f.maxInstances}`,
    ),
    ...manifest.invokers.map((x) => `invoker ${x.resource} ${M(x.member)}`),
    ...Object.entries(manifest.schedules).map(([n, j]) => `job sync-engine-${n} ${j.schedule} {uri:${j.function}}`),
    ...Object.keys(manifest.queues).map((q) => `queue ${q}`),
    ...manifest.queueRoles.map((x) => `queue-role ${x.resource} ${b(x)}`),
    ...Object.keys(manifest.metrics).map((n) => `metric ${n}`),
    ...Object.values(manifest.alerts).map((a) => `alert ${a.displayName}`),
    ...manifest.ttl.map((t) => `ttl ${t.collection}.${t.field}`),
  ].sort();
}
