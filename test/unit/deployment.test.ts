import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FUNCTIONS } from '../../functions/src/register';
import { buildManifest, FUNCTION_DEPLOYMENT, MANIFEST_FILE, renderManifest } from '../../scripts/deploy/manifest';
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
