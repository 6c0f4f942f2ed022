import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FUNCTIONS } from '../../functions/src/register';
import { MAX_EVENT_AGE_MS } from '../../functions/src/entry/event-age';
import { renderEnv } from '../../scripts/deploy/gcloud-plan';
import { buildManifest, ENV, FUNCTION_DEPLOYMENT, lastAttemptStartsWithin, MANIFEST_FILE, renderManifest } from '../../scripts/deploy/manifest';
import { INFRA, interpolations, loadTerraform, strings, tfFiles, type Block, type Terraform } from '../support/terraform';

/** The manifest and the Terraform path, checked offline (no provider can be downloaded here). */

const m = buildManifest();
let tf: Terraform;
beforeAll(async () => {
  tf = await loadTerraform();
});
const resource = (type: string, name: string) => tf.resource[type]?.[name] ?? (() => { throw new Error(`no ${type}.${name}`); })();
const block = (b: Block, key: string) => (b[key] as Block[])[0]!;
const PRIMITIVE = /^roles\/(owner|editor|viewer)$/;

describe('the deployment manifest', () => {
  it('is written to infra/manifest.json (regenerate: npx tsx scripts/deploy/manifest.ts)', () => {
    expect(readFileSync(join(__dirname, '../..', MANIFEST_FILE), 'utf8')).toBe(renderManifest());
  });

  it('deploys exactly the registered functions; event functions are Pub/Sub-driven', () => {
    expect(Object.fromEntries(Object.entries(m.functions).map(([n, f]) => [n, f.trigger === 'pubsub' ? 'event' : 'http']))).toEqual(FUNCTIONS);
  });

  it('lets every function read its secrets, and nothing else reads them', () => {
    const readers = new Set(m.secretRoles.map((b) => `${b.resource} ${b.member}`));
    for (const [name, f] of Object.entries(m.functions)) {
      for (const secret of Object.values(f.secrets)) expect([name, readers.has(`${secret} account:${f.account}`)]).toEqual([name, true]);
    }
    const needed = new Set(Object.values(m.functions).flatMap((f) => Object.values(f.secrets).map((s) => `${s} account:${f.account}`)));
    expect([...readers].filter((r) => !needed.has(r))).toEqual([]);
    // Functions that never call Google with a user's token mount no secret at all.
    for (const name of ['calendarPush', 'renewWatches', 'fallbackPoll', 'pruneRetention', 'sourceStatus']) expect(m.functions[name]!.secrets).toEqual({});
  });

  it('gives every Pub/Sub-driven function its own subscription with bounded attempts and a dead-letter topic', () => {
    const pubsub = Object.entries(m.functions).filter(([, f]) => f.trigger === 'pubsub').map(([n]) => n);
    expect(Object.values(m.subscriptions).map((s) => s.function).sort()).toEqual(pubsub.sort());
    for (const [name, s] of Object.entries(m.subscriptions)) {
      expect(s.maxDeliveryAttempts).toBeGreaterThanOrEqual(5);
      expect(s.maxDeliveryAttempts).toBeLessThanOrEqual(100);
      expect(m.topics).toContain(s.deadLetterTopic);
      expect(m.topicRoles).toContainEqual({ resource: s.deadLetterTopic, member: 'agent:pubsub', role: 'roles/pubsub.publisher' });
      expect(m.subscriptionRoles).toContainEqual({ resource: name, member: 'agent:pubsub', role: 'roles/pubsub.subscriber' });
      expect(m.invokers).toContainEqual({ resource: s.function, member: 'account:pubsub-invoker', role: 'roles/run.invoker' });
      expect(Object.values(m.deadLetterInspection)).toContain(s.deadLetterTopic);
    }
  });

  it('grants no primitive role and keeps private functions private', () => {
    const roles = [m.projectRoles, m.accountUsers, m.topicRoles, m.subscriptionRoles, m.secretRoles, m.keyRoles, m.queueRoles, m.invokers].flat().map((b) => b.role);
    expect(roles.filter((r) => PRIMITIVE.test(r))).toEqual([]);
    const publicFunctions = m.invokers.filter((b) => b.member === 'allUsers').map((b) => b.resource).sort();
    expect(publicFunctions).toEqual(['calendarPush', 'connect', 'connectCallback', 'sourceStatus']);
    expect(Object.entries(m.functions).filter(([, f]) => f.public).map(([n]) => n).sort()).toEqual(publicFunctions);
  });

  it('has a dedicated build account with the roles a functions build needs', () => {
    const build = m.projectRoles.filter((b) => b.member === 'account:build').map((b) => b.role).sort();
    expect(build).toEqual(['roles/artifactregistry.writer', 'roles/logging.logWriter', 'roles/storage.objectViewer']);
    expect(m.apis).toEqual(expect.arrayContaining(['iam.googleapis.com', 'cloudtasks.googleapis.com', 'firebaserules.googleapis.com']));
  });

  it('includes the agreed resources of the other branches (names.md)', () => {
    expect(m.queues).toHaveProperty(['gmail-follow-ups']);
    expect(m.accounts).toHaveProperty(['tasks-invoker']);
    expect(m.queueRoles).toContainEqual({ resource: 'gmail-follow-ups', member: 'account:sync', role: 'roles/cloudtasks.enqueuer' });
    expect(m.accountUsers).toContainEqual({ resource: 'tasks-invoker', member: 'account:sync', role: 'roles/iam.serviceAccountUser' });
    expect(FUNCTION_DEPLOYMENT.connectCallback.account).toBe('connect');
    const connect = [...m.projectRoles, ...m.keyRoles, ...m.secretRoles, ...m.topicRoles].filter((b) => b.member === 'account:connect').map((b) => b.role).sort();
    expect(connect).toEqual(['roles/cloudkms.cryptoKeyEncrypter', 'roles/datastore.user', 'roles/logging.logWriter', 'roles/secretmanager.secretAccessor']);
    expect(m.ttl).toContainEqual({ collection: 'connectStates', field: 'expireAt' });
    expect(m.metrics['sync_engine/audit_repaired_twice']?.filter).toBe('jsonPayload.message=("audit repaired twice in a row")');
    expect(Object.values(m.alerts).map((a) => a.displayName)).toContain('Sync engine: repaired twice in a row');
    expect(m.env.FOLLOW_UP_QUEUE).toBe('projects/{project}/locations/{region}/queues/gmail-follow-ups');
  });

  it('dead-letters a message that times out every attempt before the functions would drop it as stale', () => {
    for (const [name, s] of Object.entries(m.subscriptions)) {
      expect(s.ackDeadlineSeconds).toBe(m.functions[s.function]!.timeoutSeconds);
      expect([name, lastAttemptStartsWithin(s) < MAX_EVENT_AGE_MS / 1000]).toEqual([name, true]);
    }
    // The retry policy this replaced (10 attempts, up to 600 s apart) would not have.
    expect(lastAttemptStartsWithin({ ackDeadlineSeconds: 300, maxRetryDelaySeconds: 600, maxDeliveryAttempts: 10 })).toBeGreaterThan(MAX_EVENT_AGE_MS / 1000);
  });

  it('sizes every function on purpose: concurrency above 1 only with a whole vCPU, public functions capped low', () => {
    for (const [name, f] of Object.entries(m.functions)) {
      if (f.concurrency > 1) expect([name, Number(f.cpu)]).toEqual([name, expect.any(Number)]);
      if (f.concurrency > 1) expect([name, Number(f.cpu) >= 1]).toEqual([name, true]);
      if (f.public) expect([name, f.maxInstances <= 10]).toEqual([name, true]);
      expect(FUNCTION_DEPLOYMENT[name as keyof typeof FUNCTION_DEPLOYMENT].capacity).toBeDefined();
    }
    // The framework reads a public function's body (up to Cloud Run's 32 MiB) before our code can
    // refuse it: that many maximal bodies at once must fit beside the ~310 MiB an instance uses.
    const mib = (memory: string) => Number(memory.slice(0, -2)) * (memory.endsWith('Gi') ? 1024 : 1);
    expect(m.functions.calendarPush!.concurrency * 32 + 310).toBeLessThanOrEqual(mib(m.functions.calendarPush!.memory));
    // The event functions wait on Google and Firestore: they serve several requests per instance.
    expect(m.functions.syncWorker!.concurrency).toBeGreaterThan(1);
  });

  it('runs connect as its own account: no Cloud Tasks, no acting as another account, the one key only', () => {
    expect(m.functions.connect!.account).toBe('connect-api');
    const grants = [...m.projectRoles, ...m.keyRoles, ...m.secretRoles, ...m.topicRoles, ...m.queueRoles, ...m.accountUsers].filter((b) => b.member === 'account:connect-api');
    expect(grants.map((b) => `${'resource' in b ? String(b.resource) : 'project/key'} ${b.role}`).sort()).toEqual([
      'project/key roles/cloudkms.cryptoKeyEncrypterDecrypter',
      'project/key roles/datastore.user',
      'project/key roles/logging.logWriter',
      'sync-engine-oauth-client-secret roles/secretmanager.secretAccessor',
      'sync-requests roles/pubsub.publisher',
      // Connecting creates and reconnects sources: their status events.
      'task-changes roles/pubsub.publisher',
    ]);
  });

  it('sets NODE_ENV=production and leaves unset sign-in settings out instead of empty', () => {
    expect(ENV.NODE_ENV).toBe('production');
    const env = renderEnv(ENV, { project: 'p', region: 'r', oauthClientId: 'i', connectReturnUrl: 'https://x', firestoreLocation: 'nam5', alertEmail: null, firebaseProjectId: '', firebaseApiKey: '', connectServerCallers: '', connectAllowedOrigins: '' });
    expect(Object.keys(env)).not.toEqual(expect.arrayContaining(['FIREBASE_PROJECT_ID']));
    expect(Object.values(env).filter((v) => v === '')).toEqual([]);
  });

  it('has alerts that cannot fire on a fresh install with no sources', () => {
    for (const policy of Object.values(m.alerts)) {
      const absent = policy.conditions.filter((c) => c.conditionAbsent);
      // Absence alone fires when nothing runs; it must be ANDed with evidence of work.
      if (absent.length > 0) expect([policy.displayName, policy.combiner, policy.conditions.length > absent.length]).toEqual([policy.displayName, 'AND', true]);
      for (const c of policy.conditions) if (c.conditionThreshold) expect(c.conditionThreshold.comparison).toBe('COMPARISON_GT');
    }
  });

  it('has a dashboard with the tiles a person opens first, on metrics that exist', () => {
    const dashboard = JSON.parse(readFileSync(join(INFRA, 'dashboards/sync-engine.json'), 'utf8')) as { displayName: string; mosaicLayout: { tiles: { widget: { title: string } }[] } };
    const text = JSON.stringify(dashboard);
    const used = [...text.matchAll(/logging\.googleapis\.com\/user\/([\w/]+)/g)].map((x) => x[1]!);
    expect(used.filter((name) => !(name in m.metrics))).toEqual([]);
    const titles = dashboard.mosaicLayout.tiles.map((t) => t.widget.title.toLowerCase());
    for (const tile of ['5xx', 'backlog', 'oldest unacked', 'dead-letter', 'sources by status', 'completeness, last 24 h']) expect(titles.some((t) => t.includes(tile))).toBe(true);
    for (const metric of Object.values(m.metrics)) expect(metric.filter).toMatch(/^jsonPayload\.message=/);
  });

  it('deploys the change stream: its topic and the hosts\' dead-letter topic, publishers for every writer of tasks or sources, the sweep every minute, a tile for failed publishes and one for the consumers\' backlog', () => {
    expect(m.topics).toEqual(expect.arrayContaining(['task-changes', 'task-changes-dead-letter']));
    expect(m.deadLetterInspection['task-changes-dead-letter-inspect']).toBe('task-changes-dead-letter');
    expect(m.topicRoles).toContainEqual({ resource: 'task-changes-dead-letter', member: 'agent:pubsub', role: 'roles/pubsub.publisher' });
    const publishers = m.topicRoles.filter((r) => r.resource === 'task-changes').map((r) => r.member).sort();
    // Every account whose functions write tasks or sources (sourceStatus and calendarPush write neither status nor tasks).
    expect(publishers).toEqual(['account:connect-api', 'account:jobs', 'account:sync']);
    expect(m.schedules.publishChanges).toMatchObject({ schedule: '* * * * *' });
    expect(m.env.TASK_CHANGES_TOPIC).toBe('task-changes');
    const dashboard = readFileSync(join(INFRA, 'dashboards/sync-engine.json'), 'utf8');
    expect(dashboard).toContain('logging.googleapis.com/user/sync_engine/change_publish_failures');
    expect(dashboard).toContain('full_match(\\"task-changes-.*\\")');
    expect(m.metrics['sync_engine/change_publish_failures']!.filter).toContain('change events not published');
  });

  it('has a dashboard without the zero values the API leaves out (else Terraform shows a change on every plan)', () => {
    const zeros: string[] = [];
    const walk = (v: unknown, at: string): void => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
      else if (v && typeof v === 'object') Object.entries(v).forEach(([k, x]) => walk(x, `${at}.${k}`));
      else if (v === 0 || v === '' || v === false) zeros.push(at);
    };
    walk(JSON.parse(readFileSync(join(INFRA, 'dashboards/sync-engine.json'), 'utf8')), '');
    expect(zeros).toEqual([]);
  });
});

describe('Terraform (infra/)', () => {
  const references = () =>
    Object.entries({ ...tf.resource, ...Object.fromEntries(Object.entries(tf.data).map(([t, b]) => [`data.${t}`, b])) }).flatMap(([type, byName]) =>
      Object.entries(byName).flatMap(([name, b]) => strings(b).flatMap(interpolations).map((expr) => ({ at: `${type}.${name}`, expr }))),
    );

  it('parses every .tf file', () => {
    expect(tfFiles().length).toBeGreaterThanOrEqual(8);
    expect(Object.keys(tf.resource).length).toBeGreaterThan(20);
  });

  it('resolves every reference: resources, data sources, variables, locals and manifest keys', () => {
    const everything = [...references(), ...strings(tf.locals).concat(strings(tf.output)).flatMap(interpolations).map((expr) => ({ at: 'locals/outputs', expr }))];
    const unresolved: string[] = [];
    for (const { at, expr } of everything) {
      for (const [, type, name] of expr.matchAll(/(?<![\w.])((?:google|time|archive)_\w+)\.(\w+)/g)) {
        const isData = expr.slice(0, expr.indexOf(`${type}.${name}`)).endsWith('data.');
        const declared = isData ? tf.data[type!]?.[name!] : tf.resource[type!]?.[name!];
        if (!declared) unresolved.push(`${at}: ${type}.${name}`);
      }
      for (const [, name] of expr.matchAll(/\bvar\.(\w+)/g)) if (!tf.variable[name!]) unresolved.push(`${at}: var.${name}`);
      for (const [, name] of expr.matchAll(/\blocal\.(\w+)/g)) if (!(name! in tf.locals)) unresolved.push(`${at}: local.${name}`);
      for (const [, key, field] of expr.matchAll(/\blocal\.m\.(\w+)(?:\[[^\]]+\])?(?:\.(\w+))?/g)) {
        const value = (m as unknown as Record<string, unknown>)[key!];
        if (value === undefined) unresolved.push(`${at}: manifest key ${key}`);
        else if (field && !Array.isArray(value) && typeof value === 'object' && !Object.values(value as object).some((entry) => entry && typeof entry === 'object' && field in entry) && !(field in (value as object))) {
          unresolved.push(`${at}: manifest field ${key}[…].${field}`);
        }
      }
    }
    expect(unresolved).toEqual([]);
  });

  it('creates each kind of resource from its manifest collection, and uses every collection', () => {
    const expected: Record<string, string> = {
      'google_project_service.apis': 'apis',
      'google_project_service_identity.agents': 'serviceAgents',
      'google_service_account.accounts': 'accounts',
      'google_project_iam_member.accounts': 'projectRoles',
      'google_service_account_iam_member.account_users': 'accountUsers',
      'google_cloud_run_service_iam_member.invokers': 'invokers',
      'google_kms_crypto_key_iam_member.tokens': 'keyRoles',
      'google_secret_manager_secret.secrets': 'secrets',
      'google_secret_manager_secret_iam_member.readers': 'secretRoles',
      'google_cloudfunctions2_function.functions': 'functions',
      'google_pubsub_topic.topics': 'topics',
      'google_pubsub_topic_iam_member.topics': 'topicRoles',
      'google_pubsub_subscription.push': 'subscriptions',
      'google_pubsub_subscription_iam_member.subscriptions': 'subscriptionRoles',
      'google_pubsub_subscription.dead_letter_inspection': 'deadLetterInspection',
      'google_cloud_scheduler_job.jobs': 'schedules',
      'google_cloud_tasks_queue.queues': 'queues',
      'google_cloud_tasks_queue_iam_member.queues': 'queueRoles',
      'google_firestore_field.ttl': 'ttl',
      'google_logging_metric.metrics': 'metrics',
      'google_monitoring_alert_policy.alerts': 'alerts',
    };
    const actual = Object.fromEntries(
      Object.entries(tf.resource).flatMap(([type, byName]) =>
        Object.entries(byName).flatMap(([name, b]) => {
          const key = /local\.m\.(\w+)/.exec(JSON.stringify(b.for_each ?? ''))?.[1];
          return key ? [[`${type}.${name}`, key]] : [];
        }),
      ),
    );
    expect(actual).toEqual(expected);
    expect([...Object.values(expected), 'env'].sort()).toEqual(Object.keys(m).sort());
    // Bindings take member and role from the manifest entry, nothing hard-coded.
    for (const address of Object.keys(expected).filter((a) => /iam_member/.test(a))) {
      const [type, name] = address.split('.') as [string, string];
      expect([address, resource(type, name)]).toEqual([address, expect.objectContaining({ role: '${each.value.role}', member: '${lookup(local.members, each.value.member, each.value.member)}' })]);
    }
  });

  it('passes terraform fmt -check', () => {
    const terraform = spawnSync('terraform', ['version'], { encoding: 'utf8' });
    if (terraform.error) {
      console.warn('terraform is not installed: fmt -check skipped');
      return;
    }
    expect(execFileSync('terraform', ['fmt', '-check', '-recursive', INFRA], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })).toBe('');
  });

  it('bills every call to the project (a quota project for user credentials) on both providers', () => {
    const versions = readFileSync(join(INFRA, 'versions.tf'), 'utf8');
    for (const provider of ['google', 'google-beta']) {
      const body = new RegExp(`provider "${provider}" \\{([^}]*)\\}`).exec(versions)![1]!;
      expect([provider, /user_project_override\s*=\s*true/.test(body), /billing_project\s*=\s*var\.project_id/.test(body)]).toEqual([provider, true, true]);
    }
    expect(versions).toMatch(/time\s*=\s*\{ source = "hashicorp\/time", version = "~> 0\.13" \}/);
  });

  it('waits after new identities before any grant, and after the project roles before the builds', () => {
    const grants = Object.entries(tf.resource).flatMap(([type, byName]) => (/iam_member$/.test(type) ? Object.keys(byName).map((name) => [type, name] as const) : []));
    expect(grants.length).toBeGreaterThanOrEqual(8);
    for (const [type, name] of grants) expect([`${type}.${name}`, resource(type, name).depends_on]).toEqual([`${type}.${name}`, expect.arrayContaining(['${time_sleep.identities_propagate}'])]);
    const identities = resource('time_sleep', 'identities_propagate');
    expect(JSON.stringify(identities.triggers)).toMatch(/google_service_account\.accounts.*google_project_service_identity\.agents/);
    expect(resource('google_cloudfunctions2_function', 'functions').depends_on).toEqual(expect.arrayContaining(['${time_sleep.project_roles_propagate}']));
    expect(JSON.stringify(resource('time_sleep', 'project_roles_propagate').triggers)).toContain('google_project_iam_member.accounts');
  });

  it('rotates the OAuth secret new-version-first and redeploys the functions onto the pinned version', () => {
    expect(resource('google_secret_manager_secret_version', 'oauth_client_secret').lifecycle).toEqual([{ create_before_destroy: true }]);
    const secrets = JSON.stringify(block(resource('google_cloudfunctions2_function', 'functions'), 'service_config').dynamic);
    expect(secrets).toContain('local.secret_versions[secret_environment_variables.value]');
    expect(secrets).not.toContain('"latest"');
    expect(JSON.stringify(tf.locals.secret_versions)).toContain('google_secret_manager_secret_version.oauth_client_secret.version');
  });

  it('updates the rules release in place (never deletes it first)', () => {
    const release = resource('google_firebaserules_release', 'firestore');
    expect(release).not.toHaveProperty('lifecycle');
    expect(resource('google_firebaserules_ruleset', 'firestore').lifecycle).toEqual([{ create_before_destroy: true }]);
  });

  it('sizes the functions, sets the retry policy and sign-in settings from the manifest, and leaves empty values unset', () => {
    const service = block(resource('google_cloudfunctions2_function', 'functions'), 'service_config');
    expect(service).toMatchObject({
      available_cpu: '${local.m.functions[each.key].cpu}',
      max_instance_request_concurrency: '${local.m.functions[each.key].concurrency}',
      available_memory: '${local.m.functions[each.key].memory}',
      max_instance_count: '${local.m.functions[each.key].maxInstances}',
    });
    expect(block(resource('google_pubsub_subscription', 'push'), 'retry_policy')).toEqual({
      minimum_backoff: '${local.m.subscriptions[each.key].minRetryDelaySeconds}s',
      maximum_backoff: '${local.m.subscriptions[each.key].maxRetryDelaySeconds}s',
    });
    const placeholders = Object.keys(tf.locals.placeholders as object).sort();
    const used = [...new Set(Object.values(m.env).flatMap((v) => v.match(/\{\w+\}/g) ?? []))].sort();
    expect(used.filter((p) => !placeholders.includes(p))).toEqual([]);
    for (const v of ['firebase_project_id', 'firebase_api_key', 'connect_server_callers', 'connect_allowed_origins']) expect(tf.variable[v]).toMatchObject({ default: '' });
    expect(String(tf.locals.function_env)).toContain('if value != ""');
  });

  it('starts the scheduled jobs only after every composite index is built', () => {
    const indexes = Object.keys(tf.resource.google_firestore_index ?? {}).map((n) => `\${google_firestore_index.${n}}`);
    expect(indexes.length).toBeGreaterThan(5);
    expect(resource('google_cloud_scheduler_job', 'jobs').depends_on).toEqual(expect.arrayContaining(indexes));
  });

  it('outputs the public cloudfunctions.net address of connect', () => {
    expect(tf.output.connect_url).toMatchObject({ value: '${local.function_base_url}/connect' });
    expect(String(tf.output.connect_url!.description)).toMatch(/^Public/);
  });

  it('pins the providers to 7.x and keeps the OAuth secret out of the state', () => {
    const versions = readFileSync(join(INFRA, 'versions.tf'), 'utf8');
    expect(versions).toMatch(/google\s*=\s*\{ source = "hashicorp\/google", version = "~> 7\.0" \}/);
    expect(versions).toMatch(/google-beta\s*=\s*\{ source = "hashicorp\/google-beta", version = "~> 7\.0" \}/);
    const version = resource('google_secret_manager_secret_version', 'oauth_client_secret');
    expect(version).toHaveProperty('secret_data_wo', '${var.oauth_client_secret}');
    expect(version).not.toHaveProperty('secret_data');
    expect(tf.variable.oauth_client_secret).toMatchObject({ ephemeral: true, sensitive: true });
  });

  it('builds every function on nodejs24 with the build account, mounting only its own secrets', () => {
    const fn = resource('google_cloudfunctions2_function', 'functions');
    expect(fn.for_each).toBe('${toset(keys(local.m.functions))}');
    const build = block(fn, 'build_config');
    expect(build).toMatchObject({ runtime: 'nodejs24', entry_point: '${each.key}', service_account: '${google_service_account.accounts["build"].id}' });
    const service = block(fn, 'service_config');
    expect(JSON.stringify(service.dynamic)).toContain('local.m.functions[each.key].secrets');
    expect(fn).not.toHaveProperty('event_trigger');
  });

  it('creates APIs before everything else and the Pub/Sub service agent before granting it anything', () => {
    const waitsForApis = ['google_service_account.accounts', 'google_pubsub_topic.topics', 'google_kms_key_ring.sync_engine', 'google_secret_manager_secret.secrets', 'google_project_service_identity.agents', 'google_cloud_tasks_queue.queues', 'google_logging_metric.metrics', 'google_firestore_database.default', 'google_storage_bucket.sources'];
    for (const address of waitsForApis) {
      const [type, name] = address.split('.') as [string, string];
      expect([address, resource(type, name).depends_on]).toEqual([address, expect.arrayContaining(['${google_project_service.apis}'])]);
    }
    expect(resource('google_project_service_identity', 'agents')).toMatchObject({ provider: '${google-beta}' });
    expect(String(tf.locals.members)).toContain('google_project_service_identity.agents');
    expect(resource('google_monitoring_alert_policy', 'alerts').depends_on).toEqual(['${time_sleep.metrics_propagate}']);
  });

  it('drives Pub/Sub functions through push subscriptions with OIDC and a dead-letter policy', () => {
    const push = resource('google_pubsub_subscription', 'push');
    expect(push.for_each).toBe('${toset(keys(local.m.subscriptions))}');
    expect(block(push, 'dead_letter_policy')).toEqual({
      dead_letter_topic: '${google_pubsub_topic.topics[local.m.subscriptions[each.key].deadLetterTopic].id}',
      max_delivery_attempts: '${local.m.subscriptions[each.key].maxDeliveryAttempts}',
    });
    const oidc = block(block(push, 'push_config'), 'oidc_token');
    expect(oidc.service_account_email).toBe('${google_service_account.accounts["pubsub-invoker"].email}');
  });

  it('deploys the rules with the Firebase rules resources and ignores state and build output', () => {
    const ruleset = resource('google_firebaserules_ruleset', 'firestore');
    expect(JSON.stringify(ruleset)).toContain('firestore.rules');
    expect(resource('google_firebaserules_release', 'firestore')).toMatchObject({ name: 'cloud.firestore' });
    const ignored = readFileSync(join(__dirname, '../../.gitignore'), 'utf8');
    for (const pattern of ['infra/.terraform/', 'infra/.build/', '*.tfstate', '*.zip']) expect(ignored).toContain(pattern);
    expect(block(resource('google_storage_bucket', 'sources'), 'lifecycle_rule')).toBeDefined();
  });

  it('declares the same composite indexes as firestore.indexes.json', () => {
    const json = JSON.parse(readFileSync(join(__dirname, '../../firestore.indexes.json'), 'utf8')) as {
      indexes: { collectionGroup: string; fields: { fieldPath: string; order: string }[] }[];
    };
    const fromJson = json.indexes.map((i) => `${i.collectionGroup}: ${i.fields.map((f) => `${f.fieldPath} ${f.order}`).join(', ')}`).sort();
    const fromTf = Object.values(tf.resource.google_firestore_index ?? {})
      .map((index) => `${index.collection as string}: ${(index.fields as { field_path: string; order: string }[]).map((f) => `${f.field_path} ${f.order}`).join(', ')}`)
      .sort();
    expect(fromTf).toEqual(fromJson);
  });
});
