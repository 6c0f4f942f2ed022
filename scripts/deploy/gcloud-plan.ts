/**
 * The gcloud path, planned from the deployment manifest: a list of steps, each a command
 * line (argv, no shell), in the order a fresh project needs (APIs → service agents → accounts
 * and roles → topics, key, secret → Firestore → metrics → functions → invokers →
 * subscriptions with dead letters → jobs, queues → dashboard → alerts). Every step is safe
 * to repeat: creations look first (`find`) and update or skip, bindings are idempotent.
 *
 * Placeholders resolved at run time: {projectNumber}, {uri:<function>} (the Cloud Run URL),
 * {found} (what `find` printed), {file:<name>} (a generated config file),
 * {env:<VARIABLE>} (read from the environment, never printed).
 */
import { createHash } from 'node:crypto';
import type { Binding, Manifest, ResourceBinding } from './manifest';

export interface DeployOptions {
  project: string;
  region: string;
  oauthClientId: string;
  connectReturnUrl: string;
  firestoreLocation: string;
  alertEmail: string | null;
  /** Hash of the built functions package: a function whose label matches is not redeployed. */
  sourceHash: string;
}

export interface Step {
  section?: string;
  /** Looks for the resource; exit 0 with output = exists. */
  find?: string[];
  /** `find` printing exactly this means the resource is as wanted: nothing to do. */
  expect?: string;
  create: string[];
  /** Run instead of `create` when `find` found the resource; without it an existing resource is left alone. */
  update?: string[];
  /** Standard input for `create`/`update`: an environment variable's value. */
  stdin?: string;
  /** Keep retrying for this long on "metric not found" (new log-based metrics take minutes). */
  retrySeconds?: number;
}

/** Config files (--config-from-file and friends) the steps refer to as {file:<name>}. */
export interface Plan {
  steps: Step[];
  files: Record<string, string>;
}

const account = (key: string, project: string) => `sync-engine-${key}@${project}.iam.gserviceaccount.com`;

export function memberOf(member: string, project: string): string {
  if (member.startsWith('account:')) return `serviceAccount:${account(member.slice('account:'.length), project)}`;
  if (member === 'agent:pubsub') return 'serviceAccount:service-{projectNumber}@gcp-sa-pubsub.iam.gserviceaccount.com';
  return member;
}

export function renderEnv(values: Record<string, string>, o: DeployOptions): Record<string, string> {
  const placeholders: Record<string, string> = {
    '{project}': o.project,
    '{region}': o.region,
    '{oauthClientId}': o.oauthClientId,
    '{connectReturnUrl}': o.connectReturnUrl,
    '{functionsUrl}': `https://${o.region}-${o.project}.cloudfunctions.net`,
  };
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Object.entries(placeholders).reduce((s, [p, r]) => s.split(p).join(r), v)]));
}

/** A gcloud command line for the project, never prompting. */
function gcloud(o: Pick<DeployOptions, 'project'>) {
  return (...args: string[]) => ['gcloud', `--project=${o.project}`, '--quiet', ...args];
}

/** The commands that resolve the run-time placeholders (printed by --dry-run too). */
export function lookups(o: Pick<DeployOptions, 'project' | 'region'>) {
  const g = gcloud(o);
  return {
    projectNumber: g('projects', 'describe', o.project, '--format=value(projectNumber)'),
    uri: (fn: string) => g('functions', 'describe', fn, `--region=${o.region}`, '--format=value(serviceConfig.uri)'),
    channel: g('beta', 'monitoring', 'channels', 'list', '--filter=display_name="Sync engine alerts"', '--format=value(name)', '--limit=1'),
  };
}

export function planGcloud(m: Manifest, o: DeployOptions): Plan {
  const g = gcloud(o);
  const member = (b: Binding) => `--member=${memberOf(b.member, o.project)}`;
  const region = `--region=${o.region}`;
  const location = `--location=${o.region}`;
  const files: Record<string, string> = {};
  const steps: Step[] = [];
  const section = (title: string) => steps.push({ section: title, create: [] });
  const binding = (b: ResourceBinding | Binding, ...command: string[]) => steps.push({ create: g(...command, member(b), `--role=${b.role}`) });

  section('APIs (first: everything below needs them)');
  steps.push({ create: g('services', 'enable', ...m.apis) });
  for (const service of Object.values(m.serviceAgents)) steps.push({ create: g('beta', 'services', 'identity', 'create', `--service=${service}`) });

  section('Service accounts and their roles (no primitive roles)');
  for (const [key, title] of Object.entries(m.accounts)) {
    steps.push({ find: g('iam', 'service-accounts', 'describe', account(key, o.project), '--format=value(email)'), create: g('iam', 'service-accounts', 'create', `sync-engine-${key}`, `--display-name=Sync engine ${key}`, `--description=${title}`) });
  }
  for (const b of m.projectRoles) binding(b, 'projects', 'add-iam-policy-binding', o.project, '--condition=None');
  for (const b of m.accountUsers) binding(b, 'iam', 'service-accounts', 'add-iam-policy-binding', account(b.resource, o.project));

  section('Topics; Gmail, the publishers and the Pub/Sub service agent');
  for (const topic of m.topics) steps.push({ find: g('pubsub', 'topics', 'describe', topic, '--format=value(name)'), create: g('pubsub', 'topics', 'create', topic) });
  for (const b of m.topicRoles) binding(b, 'pubsub', 'topics', 'add-iam-policy-binding', b.resource);
  for (const [name, topic] of Object.entries(m.deadLetterInspection)) {
    steps.push({ find: g('pubsub', 'subscriptions', 'describe', name, '--format=value(name)'), create: g('pubsub', 'subscriptions', 'create', name, `--topic=${topic}`, '--message-retention-duration=7d', '--expiration-period=never') });
  }

  section('KMS key for refresh tokens; the OAuth client secret');
  const keyring = ['--keyring=sync-engine', location];
  steps.push({ find: g('kms', 'keyrings', 'describe', 'sync-engine', location, '--format=value(name)'), create: g('kms', 'keyrings', 'create', 'sync-engine', location) });
  steps.push({
    find: g('kms', 'keys', 'describe', 'refresh-tokens', ...keyring, '--format=value(name)'),
    create: g('kms', 'keys', 'create', 'refresh-tokens', ...keyring, '--purpose=encryption', '--rotation-period=90d', '--next-rotation-time=+P90D'),
  });
  for (const b of m.keyRoles) binding(b, 'kms', 'keys', 'add-iam-policy-binding', 'refresh-tokens', ...keyring);
  for (const [variable, secret] of Object.entries(m.secrets)) {
    steps.push({ find: g('secrets', 'describe', secret, '--format=value(name)'), create: g('secrets', 'create', secret, '--replication-policy=automatic') });
    // A new version only when the value changed.
    steps.push({ find: g('secrets', 'versions', 'access', 'latest', `--secret=${secret}`), expect: `{env:${variable}}`, create: g('secrets', 'versions', 'add', secret, '--data-file=-'), stdin: variable });
  }
  for (const b of m.secretRoles) binding(b, 'secrets', 'add-iam-policy-binding', b.resource);

  section('Firestore: database, TTL policies; indexes and rules with firebase-tools');
  steps.push({ find: g('firestore', 'databases', 'describe', '--database=(default)', '--format=value(name)'), create: g('firestore', 'databases', 'create', `--location=${o.firestoreLocation}`) });
  for (const t of m.ttl) steps.push({ create: g('firestore', 'fields', 'ttls', 'update', t.field, `--collection-group=${t.collection}`, '--enable-ttl', '--async') });
  steps.push({ create: ['firebase', 'deploy', '--only', 'firestore', '--project', o.project, '--non-interactive'] });

  section('Log-based metrics (early: alert policies can use them only after a few minutes)');
  for (const [name, metric] of Object.entries(m.metrics)) {
    const file = `metric-${name.replace(/\W/g, '-')}.json`;
    files[file] = JSON.stringify(metric, null, 2);
    steps.push({
      find: g('logging', 'metrics', 'describe', name, '--format=value(name)'),
      create: g('logging', 'metrics', 'create', name, `--config-from-file={file:${file}}`),
      update: g('logging', 'metrics', 'update', name, `--config-from-file={file:${file}}`),
    });
  }

  section('Functions (from the built package: npm run build), each with only its secrets');
  for (const [name, f] of Object.entries(m.functions)) {
    const env = renderEnv({ ...m.env, ...f.env }, o);
    const secrets = Object.entries(f.secrets).map(([variable, secret]) => `${variable}=${secret}:latest`);
    // The label records what was deployed, so an unchanged function is not rebuilt.
    const hash = createHash('sha256').update(JSON.stringify({ f, env, source: o.sourceHash })).digest('hex').slice(0, 16);
    steps.push({
      find: g('functions', 'describe', name, region, '--format=value(labels.deploy-hash)'),
      expect: hash,
      create: g(
        'functions', 'deploy', name, '--gen2', '--runtime=nodejs24', region, '--source=functions', `--entry-point=${name}`, '--trigger-http', '--no-allow-unauthenticated',
        `--service-account=${account(f.account, o.project)}`, `--build-service-account=projects/${o.project}/serviceAccounts/${account('build', o.project)}`,
        `--set-env-vars=${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(',')}`,
        ...(secrets.length > 0 ? [`--set-secrets=${secrets.join(',')}`] : ['--clear-secrets']),
        `--memory=${f.memory}`, `--timeout=${f.timeoutSeconds}s`, `--max-instances=${f.maxInstances}`, `--update-labels=deploy-hash=${hash}`,
      ),
    });
  }
  for (const b of m.invokers) steps.push({ create: g('functions', 'add-invoker-policy-binding', b.resource, region, member(b)) });

  section('Push subscriptions (OIDC) with bounded attempts and a dead-letter topic');
  for (const [name, s] of Object.entries(m.subscriptions)) {
    const settings = [
      `--push-endpoint={uri:${s.function}}/projects/${o.project}/topics/${s.topic}`, `--push-auth-service-account=${account('pubsub-invoker', o.project)}`,
      `--push-auth-token-audience={uri:${s.function}}`, `--ack-deadline=${s.ackDeadlineSeconds}`, `--dead-letter-topic=${s.deadLetterTopic}`,
      `--max-delivery-attempts=${s.maxDeliveryAttempts}`, '--min-retry-delay=10s', '--max-retry-delay=600s', '--message-retention-duration=1d', '--expiration-period=never',
    ];
    steps.push({
      find: g('pubsub', 'subscriptions', 'describe', name, '--format=value(name)'),
      create: g('pubsub', 'subscriptions', 'create', name, `--topic=${s.topic}`, ...settings),
      update: g('pubsub', 'subscriptions', 'update', name, ...settings),
    });
  }
  for (const b of m.subscriptionRoles) binding(b, 'pubsub', 'subscriptions', 'add-iam-policy-binding', b.resource);

  section('Cloud Scheduler jobs (OIDC) and Cloud Tasks queues');
  for (const [name, job] of Object.entries(m.schedules)) {
    const settings = [location, `--schedule=${job.schedule}`, '--time-zone=Etc/UTC', `--uri={uri:${job.function}}`, '--http-method=POST', `--oidc-service-account-email=${account('scheduler', o.project)}`, `--oidc-token-audience={uri:${job.function}}`, '--max-retry-attempts=1', `--attempt-deadline=${job.attemptDeadlineSeconds}s`];
    steps.push({
      find: g('scheduler', 'jobs', 'describe', `sync-engine-${name}`, location, '--format=value(name)'),
      create: g('scheduler', 'jobs', 'create', 'http', `sync-engine-${name}`, ...settings),
      update: g('scheduler', 'jobs', 'update', 'http', `sync-engine-${name}`, ...settings),
    });
  }
  for (const [name, q] of Object.entries(m.queues)) {
    const settings = [location, `--max-dispatches-per-second=${q.maxDispatchesPerSecond}`, `--max-concurrent-dispatches=${q.maxConcurrentDispatches}`, `--max-attempts=${q.maxAttempts}`];
    steps.push({ find: g('tasks', 'queues', 'describe', name, location, '--format=value(name)'), create: g('tasks', 'queues', 'create', name, ...settings), update: g('tasks', 'queues', 'update', name, ...settings) });
  }
  for (const b of m.queueRoles) binding(b, 'tasks', 'queues', 'add-iam-policy-binding', b.resource, location);

  section('Dashboard (found by display name and updated) and alert policies');
  steps.push({
    find: g('monitoring', 'dashboards', 'list', '--filter=displayName="Sync engine"', '--format=value(name)', '--limit=1'),
    create: g('monitoring', 'dashboards', 'create', '--config-from-file=infra/dashboards/sync-engine.json'),
    update: g('monitoring', 'dashboards', 'update', '{found}', '--config-from-file=infra/dashboards/sync-engine.json'),
  });
  let channels: string[] = [];
  if (o.alertEmail) {
    steps.push({
      find: lookups(o).channel,
      create: g('beta', 'monitoring', 'channels', 'create', '--display-name=Sync engine alerts', '--type=email', `--channel-labels=email_address=${o.alertEmail}`),
    });
    channels = ['{channel}'];
  }
  for (const [key, policy] of Object.entries(m.alerts)) {
    const file = `alert-${key}.json`;
    files[file] = JSON.stringify({ ...policy, notificationChannels: channels }, null, 2);
    steps.push({
      find: g('alpha', 'monitoring', 'policies', 'list', `--filter=displayName="${policy.displayName}"`, '--format=value(name)', '--limit=1'),
      create: g('alpha', 'monitoring', 'policies', 'create', `--policy-from-file={file:${file}}`),
      update: g('alpha', 'monitoring', 'policies', 'update', '{found}', `--policy-from-file={file:${file}}`),
      retrySeconds: 600,
    });
  }
  return { steps, files };
}
