/**
 * The gcloud path, planned from the deployment manifest: a list of steps, each a command
 * line (argv, no shell), in the order a fresh project needs (APIs → service agents → accounts
 * and roles → topics, key, secret → Firestore → metrics → functions → invokers →
 * subscriptions with dead letters → jobs, queues → dashboard → alerts). Every step is safe
 * to repeat, and a second run changes nothing: a step looks first (`find`) and skips when
 * what it found is already as wanted (`expect`, `compare` against the desired JSON, `bound`
 * for an IAM binding in the resource's policy, `listed` for the APIs already enabled).
 *
 * Placeholders resolved at run time: {projectNumber}, {uri:<function>} (the Cloud Run URL),
 * {secretVersion:<secret>} (its newest enabled version), {channel}, {found} (the name of what
 * `find` printed), {file:<name>} (a generated config file), {deployHash} (see `Step.deployHash`),
 * {env:<VARIABLE>} (read from the environment, never printed).
 */
import type { Binding, Manifest, SERVICE_AGENTS } from './manifest';

export interface DeployOptions {
  project: string;
  region: string;
  oauthClientId: string;
  connectReturnUrl: string;
  firestoreLocation: string;
  alertEmail: string | null;
  /** Optional sign-in settings (empty: the variable is not set; see docs/deployment.md). */
  firebaseProjectId: string;
  firebaseApiKey: string;
  connectServerCallers: string;
  connectAllowedOrigins: string;
  /** Hash of the built functions package, part of every function's deploy hash. */
  sourceHash: string;
  /** Hash of firestore.rules and firestore.indexes.json: `firebase deploy` runs only when it changed. */
  firestoreHash: string;
}

/** Retry a failing command while its error matches `when` (a regular expression), for up to `seconds`. */
export interface Retry {
  seconds: number;
  when: string;
  why: string;
}

export interface Step {
  section?: string;
  /** Looks for the resource; exit 0 with output = exists. */
  find?: string[];
  /** `find` printing exactly this (or one of these) means the resource is as wanted: nothing to do. */
  expect?: string | string[];
  /** `find` printing JSON that contains this JSON (placeholders resolved) means nothing to do. */
  compare?: string;
  /** Alert policies: before an update, give each condition in this file the id it already has. */
  keepConditionIds?: string;
  /**
   * The `{deployHash}` placeholder: a hash of the resolved command line, the config files it
   * names and this extra input (the package hash), so any flag or setting change redeploys.
   */
  deployHash?: string;
  create: string[];
  /** Run instead of `create` when `find` found the resource; without it an existing resource is left alone. */
  update?: string[];
  /** Standard input for `create`/`update`: an environment variable's value. */
  stdin?: string;
  /** Extra environment for `create`/`update`. */
  env?: Record<string, string>;
  /**
   * `find` prints an IAM policy (JSON); nothing to do when it binds this member (placeholders
   * resolved) to this role without a condition. Steps with the same `find` share one read per run.
   */
  bound?: { member: string; role: string };
  /** Items of `create` that `find` lists (one a line) are left out of it; nothing to do when it lists them all. */
  listed?: string[];
  retry?: Retry;
  /** Instead of a change: repeat `find` while its output matches `while`, for up to `seconds`. */
  wait?: { while: string; seconds: number; why: string };
}

/** Config files (--config-from-file and friends) the steps refer to as {file:<name>}. */
export interface Plan {
  steps: Step[];
  files: Record<string, string>;
}

const account = (key: string, project: string) => `sync-engine-${key}@${project}.iam.gserviceaccount.com`;

/** New service accounts and service agents take a while to be visible to IAM everywhere. */
export const NEW_IDENTITY_RETRY: Retry = { seconds: 180, when: 'does not exist|not found|NOT_FOUND', why: 'a new account or service agent is not visible to IAM yet' };
/** The build account's fresh roles reach Cloud Build and the sources bucket after a while. */
export const BUILD_RETRY: Retry = { seconds: 600, when: 'gcf-v2-sources|does not exist|denied|PERMISSION_DENIED', why: "the build account's new roles are not in effect yet" };
/** A new log-based metric is not usable in an alert policy for up to ~10 minutes. */
export const METRIC_RETRY: Retry = { seconds: 600, when: 'metric|not found|does not exist', why: 'the metrics are not visible yet' };

export function memberOf(member: string, project: string): string {
  if (member.startsWith('account:')) return `serviceAccount:${account(member.slice('account:'.length), project)}`;
  if (member === 'agent:pubsub') return 'serviceAccount:service-{projectNumber}@gcp-sa-pubsub.iam.gserviceaccount.com';
  return member;
}

/** The functions' environment for these options; a variable whose value comes out empty is left unset. */
export function renderEnv(values: Record<string, string>, o: Omit<DeployOptions, 'sourceHash' | 'firestoreHash'>): Record<string, string> {
  const placeholders: Record<string, string> = {
    '{project}': o.project,
    '{region}': o.region,
    '{oauthClientId}': o.oauthClientId,
    '{connectReturnUrl}': o.connectReturnUrl,
    '{functionsUrl}': `https://${o.region}-${o.project}.cloudfunctions.net`,
    '{firebaseProjectId}': o.firebaseProjectId,
    '{firebaseApiKey}': o.firebaseApiKey,
    '{connectServerCallers}': o.connectServerCallers,
    '{connectAllowedOrigins}': o.connectAllowedOrigins,
  };
  const rendered = Object.entries(values).map(([k, v]) => [k, Object.entries(placeholders).reduce((s, [p, r]) => s.split(p).join(r), v)] as const);
  return Object.fromEntries(rendered.filter(([, v]) => v !== ''));
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
    secretVersion: (secret: string) => g('secrets', 'versions', 'list', secret, '--filter=state:enabled', '--sort-by=~createTime', '--limit=1', '--format=value(name.basename())'),
    channel: g('beta', 'monitoring', 'channels', 'list', '--filter=display_name="Sync engine alerts"', '--format=value(name)', '--limit=1'),
  };
}

type Plot = { steps: Step[]; files: Record<string, string>; m: Manifest; o: DeployOptions; g: ReturnType<typeof gcloud> };

const member = (b: Binding, o: DeployOptions) => `--member=${memberOf(b.member, o.project)}`;
/** Grants to our new accounts and to the Pub/Sub service agent may race their creation. */
const grantRetry = (b: Binding) => (b.member.startsWith('account:') || b.member.startsWith('agent:') ? { retry: NEW_IDENTITY_RETRY } : {});

/**
 * Adds one binding unless the resource's policy already holds it: `command` names the kind of
 * resource (`pubsub topics`), `target` the resource and its location flags.
 */
function binding(p: Plot, b: Binding, command: string[], target: string[], extra: string[] = []): void {
  const read = p.g(...command, 'get-iam-policy', ...target, '--format=json');
  p.steps.push({ find: read, bound: { member: memberOf(b.member, p.o.project), role: b.role }, create: p.g(...command, 'add-iam-policy-binding', ...target, ...extra, member(b, p.o), `--role=${b.role}`), ...grantRetry(b) });
}

/** The role Google grants a service agent on the project when it creates it: its presence says the agent exists. */
const AGENT_ROLES: Record<keyof typeof SERVICE_AGENTS, string> = { pubsub: 'roles/pubsub.serviceAgent' };

function identities(p: Plot): void {
  const { steps, m, o, g } = p;
  steps.push({ section: 'APIs (first: everything below needs them)', create: [] });
  // One read for every API; only the ones not yet enabled are enabled, in one command.
  steps.push({ find: g('services', 'list', '--enabled', '--format=value(config.name)'), listed: [...m.apis], create: g('services', 'enable', ...m.apis) });
  for (const [key, service] of Object.entries(m.serviceAgents)) {
    const agent = { member: memberOf(`agent:${key}`, o.project), role: AGENT_ROLES[key as keyof typeof SERVICE_AGENTS] };
    steps.push({ find: g('projects', 'get-iam-policy', o.project, '--format=json'), bound: agent, create: g('beta', 'services', 'identity', 'create', `--service=${service}`) });
  }

  steps.push({ section: 'Service accounts and their roles (no primitive roles); grants retry while new identities propagate', create: [] });
  for (const [key, title] of Object.entries(m.accounts)) {
    steps.push({ find: g('iam', 'service-accounts', 'describe', account(key, o.project), '--format=value(email)'), create: g('iam', 'service-accounts', 'create', `sync-engine-${key}`, `--display-name=Sync engine ${key}`, `--description=${title}`) });
  }
  for (const b of m.projectRoles) binding(p, b, ['projects'], [o.project], ['--condition=None']);
  for (const b of m.accountUsers) binding(p, b, ['iam', 'service-accounts'], [account(b.resource, o.project)]);
}

function topicsKeysSecrets(p: Plot): void {
  const { steps, m, o, g } = p;
  steps.push({ section: 'Topics; Gmail, the publishers and the Pub/Sub service agent', create: [] });
  for (const topic of m.topics) steps.push({ find: g('pubsub', 'topics', 'describe', topic, '--format=value(name)'), create: g('pubsub', 'topics', 'create', topic) });
  for (const b of m.topicRoles) binding(p, b, ['pubsub', 'topics'], [b.resource]);
  for (const [name, topic] of Object.entries(m.deadLetterInspection)) {
    steps.push({ find: g('pubsub', 'subscriptions', 'describe', name, '--format=value(name)'), create: g('pubsub', 'subscriptions', 'create', name, `--topic=${topic}`, '--message-retention-duration=7d', '--expiration-period=never') });
  }

  steps.push({ section: 'KMS key for refresh tokens; the OAuth client secret', create: [] });
  const location = `--location=${o.region}`;
  const keyring = ['--keyring=sync-engine', location];
  steps.push({ find: g('kms', 'keyrings', 'describe', 'sync-engine', location, '--format=value(name)'), create: g('kms', 'keyrings', 'create', 'sync-engine', location) });
  steps.push({
    find: g('kms', 'keys', 'describe', 'refresh-tokens', ...keyring, '--format=value(name)'),
    create: g('kms', 'keys', 'create', 'refresh-tokens', ...keyring, '--purpose=encryption', '--rotation-period=90d', '--next-rotation-time=+P90D'),
  });
  for (const b of m.keyRoles) binding(p, b, ['kms', 'keys'], ['refresh-tokens', ...keyring]);
  for (const [variable, secret] of Object.entries(m.secrets)) {
    steps.push({ find: g('secrets', 'describe', secret, '--format=value(name)'), create: g('secrets', 'create', secret, '--replication-policy=automatic') });
    // A new version only when the value changed; the old one stays enabled until the
    // functions, pinned to a version, have been redeployed on the new one.
    steps.push({ find: g('secrets', 'versions', 'access', 'latest', `--secret=${secret}`), expect: `{env:${variable}}`, create: g('secrets', 'versions', 'add', secret, '--data-file=-'), stdin: variable });
  }
  for (const b of m.secretRoles) binding(p, b, ['secrets'], [b.resource]);
}

function firestore(p: Plot): void {
  const { steps, m, o, g } = p;
  steps.push({ section: 'Firestore: database, TTL policies (waited for); indexes and rules with firebase-tools when they changed', create: [] });
  steps.push({ find: g('firestore', 'databases', 'describe', '--database=(default)', '--format=value(name)'), create: g('firestore', 'databases', 'create', `--location=${o.firestoreLocation}`) });
  for (const t of m.ttl) {
    // Not --async: firebase deploy below patches the same field, which must not race the TTL operation.
    steps.push({
      find: g('firestore', 'fields', 'ttls', 'list', `--collection-group=${t.collection}`, `--filter=name~/fields/${t.field}$`, '--format=value(ttlConfig.state)'),
      expect: ['ACTIVE', 'CREATING'],
      create: g('firestore', 'fields', 'ttls', 'update', t.field, `--collection-group=${t.collection}`, '--enable-ttl'),
    });
  }
  // The hash of the deployed rules and indexes is kept as a project label.
  const deployed = { find: g('projects', 'describe', o.project, '--format=value(labels.sync-engine-firestore)'), expect: o.firestoreHash };
  // firebase-tools sends a quota project only when told: without one, user credentials are refused.
  steps.push({ ...deployed, create: ['firebase', 'deploy', '--only', 'firestore', '--project', o.project, '--non-interactive'], env: { GOOGLE_CLOUD_QUOTA_PROJECT: o.project } });
  steps.push({ ...deployed, create: g('alpha', 'projects', 'update', o.project, `--update-labels=sync-engine-firestore=${o.firestoreHash}`) });

  steps.push({ section: 'Log-based metrics (early: alert policies can use them only after a few minutes)', create: [] });
  for (const [name, metric] of Object.entries(m.metrics)) {
    const file = `metric-${name.replace(/\W/g, '-')}.json`;
    p.files[file] = JSON.stringify(metric, null, 2);
    steps.push({
      find: g('logging', 'metrics', 'describe', name, '--format=json'),
      compare: p.files[file],
      create: g('logging', 'metrics', 'create', name, `--config-from-file={file:${file}}`),
      update: g('logging', 'metrics', 'update', name, `--config-from-file={file:${file}}`),
    });
  }
}

function functions(p: Plot): void {
  const { steps, m, o, g } = p;
  steps.push({ section: 'Functions (from the built package: npm run build), each with only its secrets, pinned to a version', create: [] });
  for (const [name, f] of Object.entries(m.functions)) {
    const file = `env-${name}.yaml`;
    // A file, not --set-env-vars: values may contain commas (the allow-lists).
    p.files[file] = `${Object.entries(renderEnv({ ...m.env, ...f.env }, o)).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n')}\n`;
    const secrets = Object.entries(f.secrets).map(([variable, secret]) => `${variable}=${secret}:{secretVersion:${secret}}`);
    steps.push({
      // A FAILED function carries the label too: only an ACTIVE one with the same hash is done.
      find: g('functions', 'describe', name, `--region=${o.region}`, '--format=value(state,labels.deploy-hash)'),
      expect: 'ACTIVE\t{deployHash}',
      deployHash: o.sourceHash,
      create: g(
        'functions', 'deploy', name, '--gen2', '--runtime=nodejs24', `--region=${o.region}`, '--source=functions', `--entry-point=${name}`, '--trigger-http',
        // Said on every deploy: --no-allow-unauthenticated on an existing public function removes allUsers.
        f.public ? '--allow-unauthenticated' : '--no-allow-unauthenticated',
        `--service-account=${account(f.account, o.project)}`, `--build-service-account=projects/${o.project}/serviceAccounts/${account('build', o.project)}`,
        `--env-vars-file={file:${file}}`,
        ...(secrets.length > 0 ? [`--set-secrets=${secrets.join(',')}`] : ['--clear-secrets']),
        `--cpu=${f.cpu}`, `--memory=${f.memory}`, `--concurrency=${f.concurrency}`, `--timeout=${f.timeoutSeconds}s`, `--max-instances=${f.maxInstances}`,
        '--update-labels=deploy-hash={deployHash}',
      ),
      retry: BUILD_RETRY,
    });
  }
  // A gen2 function's invokers are bindings on its Cloud Run service (named by the lower-cased function name).
  for (const b of m.invokers) {
    steps.push({
      find: g('run', 'services', 'get-iam-policy', b.resource.toLowerCase(), `--region=${o.region}`, '--format=json'),
      bound: { member: memberOf(b.member, o.project), role: b.role },
      create: g('functions', 'add-invoker-policy-binding', b.resource, `--region=${o.region}`, member(b, o)),
      ...grantRetry(b),
    });
  }
}

function subscriptions(p: Plot): void {
  const { steps, m, o, g } = p;
  steps.push({ section: 'Push subscriptions (OIDC) with bounded attempts and a dead-letter topic', create: [] });
  for (const [name, s] of Object.entries(m.subscriptions)) {
    const endpoint = `{uri:${s.function}}/projects/${o.project}/topics/${s.topic}`;
    const invoker = account('pubsub-invoker', o.project);
    const settings = [
      `--push-endpoint=${endpoint}`, `--push-auth-service-account=${invoker}`, `--push-auth-token-audience={uri:${s.function}}`, `--ack-deadline=${s.ackDeadlineSeconds}`,
      `--dead-letter-topic=${s.deadLetterTopic}`, `--max-delivery-attempts=${s.maxDeliveryAttempts}`, `--min-retry-delay=${s.minRetryDelaySeconds}s`, `--max-retry-delay=${s.maxRetryDelaySeconds}s`,
      '--message-retention-duration=1d', '--expiration-period=never',
    ];
    const desired = {
      topic: `projects/${o.project}/topics/${s.topic}`,
      pushConfig: { pushEndpoint: endpoint, oidcToken: { serviceAccountEmail: invoker, audience: `{uri:${s.function}}` } },
      ackDeadlineSeconds: s.ackDeadlineSeconds,
      messageRetentionDuration: '86400s',
      retryPolicy: { minimumBackoff: `${s.minRetryDelaySeconds}s`, maximumBackoff: `${s.maxRetryDelaySeconds}s` },
      deadLetterPolicy: { deadLetterTopic: `projects/${o.project}/topics/${s.deadLetterTopic}`, maxDeliveryAttempts: s.maxDeliveryAttempts },
    };
    steps.push({
      find: g('pubsub', 'subscriptions', 'describe', name, '--format=json'),
      compare: JSON.stringify(desired),
      create: g('pubsub', 'subscriptions', 'create', name, `--topic=${s.topic}`, ...settings),
      update: g('pubsub', 'subscriptions', 'update', name, ...settings),
    });
  }
  for (const b of m.subscriptionRoles) binding(p, b, ['pubsub', 'subscriptions'], [b.resource]);
}

function jobsAndQueues(p: Plot): void {
  const { steps, m, o, g } = p;
  const location = `--location=${o.region}`;
  steps.push({ section: 'Cloud Scheduler jobs (OIDC), once the composite indexes their queries need are built; Cloud Tasks queues', create: [] });
  steps.push({ find: g('firestore', 'indexes', 'composite', 'list', '--format=value(state)'), wait: { while: 'CREATING', seconds: 1800, why: 'composite indexes are still building' }, create: [] });
  for (const [name, job] of Object.entries(m.schedules)) {
    const scheduler = account('scheduler', o.project);
    const settings = [location, `--schedule=${job.schedule}`, '--time-zone=Etc/UTC', `--uri={uri:${job.function}}`, '--http-method=POST', `--oidc-service-account-email=${scheduler}`, `--oidc-token-audience={uri:${job.function}}`, '--max-retry-attempts=1', `--attempt-deadline=${job.attemptDeadlineSeconds}s`];
    const desired = {
      schedule: job.schedule,
      timeZone: 'Etc/UTC',
      httpTarget: { uri: `{uri:${job.function}}`, httpMethod: 'POST', oidcToken: { serviceAccountEmail: scheduler, audience: `{uri:${job.function}}` } },
      retryConfig: { retryCount: 1 },
      attemptDeadline: `${job.attemptDeadlineSeconds}s`,
    };
    steps.push({
      find: g('scheduler', 'jobs', 'describe', `sync-engine-${name}`, location, '--format=json'),
      compare: JSON.stringify(desired),
      create: g('scheduler', 'jobs', 'create', 'http', `sync-engine-${name}`, ...settings),
      update: g('scheduler', 'jobs', 'update', 'http', `sync-engine-${name}`, ...settings),
    });
  }
  for (const [name, q] of Object.entries(m.queues)) {
    const settings = [location, `--max-dispatches-per-second=${q.maxDispatchesPerSecond}`, `--max-concurrent-dispatches=${q.maxConcurrentDispatches}`, `--max-attempts=${q.maxAttempts}`];
    const desired = { rateLimits: { maxDispatchesPerSecond: q.maxDispatchesPerSecond, maxConcurrentDispatches: q.maxConcurrentDispatches }, retryConfig: { maxAttempts: q.maxAttempts } };
    steps.push({
      find: g('tasks', 'queues', 'describe', name, location, '--format=json'),
      compare: JSON.stringify(desired),
      create: g('tasks', 'queues', 'create', name, ...settings),
      update: g('tasks', 'queues', 'update', name, ...settings),
    });
  }
  for (const b of m.queueRoles) binding(p, b, ['tasks', 'queues'], [b.resource, location]);
}

function monitoring(p: Plot, dashboard: string): void {
  const { steps, m, o, g } = p;
  steps.push({ section: 'Dashboard (found by display name) and alert policies, changed only when they differ', create: [] });
  steps.push({
    find: g('monitoring', 'dashboards', 'list', '--filter=displayName="Sync engine"', '--format=json', '--limit=1'),
    compare: dashboard,
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
    p.files[file] = JSON.stringify({ ...policy, notificationChannels: channels }, null, 2);
    steps.push({
      find: g('alpha', 'monitoring', 'policies', 'list', `--filter=displayName="${policy.displayName}"`, '--format=json', '--limit=1'),
      compare: p.files[file],
      // A condition without its id would be a new condition: open incidents would close.
      keepConditionIds: file,
      create: g('alpha', 'monitoring', 'policies', 'create', `--policy-from-file={file:${file}}`),
      update: g('alpha', 'monitoring', 'policies', 'update', '{found}', `--policy-from-file={file:${file}}`),
      retry: METRIC_RETRY,
    });
  }
}

/** `dashboard`: the content of infra/dashboards/sync-engine.json (what a found dashboard is compared with). */
export function planGcloud(m: Manifest, o: DeployOptions, dashboard: string): Plan {
  const plot: Plot = { steps: [], files: {}, m, o, g: gcloud(o) };
  identities(plot);
  topicsKeysSecrets(plot);
  firestore(plot);
  functions(plot);
  subscriptions(plot);
  jobsAndQueues(plot);
  monitoring(plot, dashboard);
  return { steps: plot.steps, files: plot.files };
}
