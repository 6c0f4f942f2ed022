/**
 * The one description of the deployment. Terraform reads its JSON form (infra/manifest.json,
 * written by `npx tsx scripts/deploy/manifest.ts --write`) and scripts/deploy.sh plans its
 * gcloud commands from it, so the two paths cannot drift: test/unit/deployment*.test.ts check
 * both against it.
 *
 * Adding a function: register it in functions/src/register.ts, then add one entry to
 * `FUNCTION_DEPLOYMENT` below (typecheck fails until you do). Accounts, roles, secrets,
 * invokers, subscriptions, dead letters and schedules all follow from that entry.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FUNCTIONS, type FunctionName } from '../../functions/src/register';
import { alertPolicies, LOG_METRICS, type AlertPolicy, type LogMetric } from './monitoring';

/** Service accounts: `sync-engine-<key>@PROJECT.iam.gserviceaccount.com`. */
export const ACCOUNTS = {
  sync: { title: 'runtime: syncs, watches, Gmail tail looks', roles: ['roles/datastore.user', 'roles/logging.logWriter'] },
  push: { title: 'runtime: Calendar channel notifications', roles: ['roles/datastore.user', 'roles/logging.logWriter'] },
  jobs: { title: 'runtime: scheduled jobs', roles: ['roles/datastore.user', 'roles/logging.logWriter'] },
  status: { title: 'runtime: source status (read only)', roles: ['roles/datastore.viewer', 'roles/logging.logWriter'] },
  connect: { title: 'runtime: OAuth connect callback', roles: ['roles/datastore.user', 'roles/logging.logWriter'] },
  // The public connect routes: no Cloud Tasks, no acting as another account.
  'connect-api': { title: 'runtime: connect routes (start, confirm, disconnect, reconnect)', roles: ['roles/datastore.user', 'roles/logging.logWriter'] },
  'pubsub-invoker': { title: 'Pub/Sub push subscriptions call the event functions', roles: [] },
  scheduler: { title: 'Cloud Scheduler calls the jobs', roles: [] },
  'tasks-invoker': { title: 'Cloud Tasks calls gmailFollowUp', roles: [] },
  // Projects created since mid-2024 give the default Cloud Build account too few roles.
  build: { title: 'builds the functions', roles: ['roles/logging.logWriter', 'roles/artifactregistry.writer', 'roles/storage.objectViewer'] },
} as const satisfies Record<string, { title: string; roles: readonly string[] }>;
export type AccountKey = keyof typeof ACCOUNTS;
type RuntimeAccount = 'sync' | 'push' | 'jobs' | 'status' | 'connect' | 'connect-api';

/** Secrets in Secret Manager, by the environment variable a function reads them from. */
export const SECRETS = { OAUTH_CLIENT_SECRET: 'sync-engine-oauth-client-secret' } as const;
type SecretVariable = keyof typeof SECRETS;

interface CommonSpec {
  account: RuntimeAccount;
  /** Secrets mounted as environment variables; the account is allowed to read exactly these. */
  secrets?: SecretVariable[];
  /** Use of the refresh-token KMS key: seal only (new tokens) or seal and open. */
  tokens?: 'seal' | 'seal-and-open';
  /** Topics the function publishes to. */
  publishes?: Topic[];
  /** Creates Cloud Tasks (as `tasks-invoker`) on these queues. */
  enqueues?: Queue[];
  timeoutSeconds: number;
  /** Instance size and how many requests one instance serves at once (docs/performance.md, "Instance sizing"). */
  capacity: Capacity;
  /** Extra environment variables (besides `ENV`, which every function gets). */
  env?: Record<string, string>;
}
/** An HTTP function and who may call it: everyone, Cloud Scheduler (with `schedule`), Cloud Tasks, or only callers granted run.invoker separately. */
interface HttpSpec extends CommonSpec {
  invoker: 'public' | 'scheduler' | 'tasks' | 'granted';
  schedule?: string;
}
/** A function driven by its own Pub/Sub push subscription (OIDC) with a dead-letter topic. */
interface PubSubSpec extends CommonSpec {
  topic: Topic;
}

/**
 * Cloud Run serves `concurrency` requests per instance at once; above 1 it needs at least one
 * vCPU (fractional CPU allows only 1). Figures chosen from bench/concurrency.json.
 */
export interface Capacity {
  cpu: '0.333' | '0.583' | '1' | '2';
  memory: '512Mi' | '1Gi' | '2Gi';
  concurrency: number;
  maxInstances: number;
}

/**
 * Redelivery of a failed push: exponential backoff between the two delays, then the
 * dead-letter topic. The functions drop a delivery older than MAX_EVENT_AGE_MS as stale, so
 * the last attempt must start before that age, or a message that times out every attempt
 * would be acknowledged as stale instead of dead-lettered (see `lastAttemptStartsWithin`).
 */
export const PUSH_RETRY = { minDelaySeconds: 10, maxDelaySeconds: 300, maxDeliveryAttempts: 5 } as const;

/** The latest moment (seconds after publishing) the last attempt can start: every earlier attempt runs to the ack deadline, then waits the longest backoff. */
export function lastAttemptStartsWithin(s: { ackDeadlineSeconds: number; maxRetryDelaySeconds: number; maxDeliveryAttempts: number }): number {
  return (s.maxDeliveryAttempts - 1) * (s.ackDeadlineSeconds + s.maxRetryDelaySeconds);
}
type SpecFor<K extends FunctionName> = (typeof FUNCTIONS)[K] extends 'event' ? PubSubSpec : HttpSpec;

export const TOPICS = ['gmail-watch', 'sync-requests', 'task-changes'] as const;
type Topic = (typeof TOPICS)[number];
/**
 * The dead-letter topic a host app's subscriptions to `task-changes` name (the host creates the
 * subscriptions; see docs/change-stream.md): created here so that it exists, is inspectable
 * and the Pub/Sub agent may publish to it.
 */
export const HOST_DEAD_LETTERS = ['task-changes-dead-letter'] as const;
export const QUEUES = { 'gmail-follow-ups': { maxDispatchesPerSecond: 50, maxConcurrentDispatches: 20, maxAttempts: 5 } } as const;
type Queue = keyof typeof QUEUES;

const googleCalls = { secrets: ['OAUTH_CLIENT_SECRET'], tokens: 'seal-and-open' } as const satisfies Partial<CommonSpec>;

/**
 * Mostly waiting on Google and Firestore: at concurrency 1 a sync held its instance ~12 times
 * longer than it used the CPU, and memory stayed ~310 MiB up to 32 at once
 * (bench/concurrency.json): one vCPU serves 8 with headroom.
 */
const WAITING: Omit<Capacity, 'maxInstances'> = { cpu: '1', memory: '512Mi', concurrency: 8 };
/** Scheduled jobs: one run at a time on the standard 512 MiB tier (a third of a vCPU). */
const JOB: Capacity = { cpu: '0.333', memory: '512Mi', concurrency: 1, maxInstances: 2 };

/** Every registered function's deployment: the place to edit when a function is added. */
export const FUNCTION_DEPLOYMENT: { [K in FunctionName]: SpecFor<K> } = {
  gmailPush: { account: 'sync', ...googleCalls, topic: 'gmail-watch', publishes: ['sync-requests', 'task-changes'], enqueues: ['gmail-follow-ups'], timeoutSeconds: 300, capacity: { ...WAITING, maxInstances: 20 } },
  syncWorker: { account: 'sync', ...googleCalls, topic: 'sync-requests', publishes: ['sync-requests', 'task-changes'], enqueues: ['gmail-follow-ups'], timeoutSeconds: 300, capacity: { ...WAITING, maxInstances: 40 } },
  // Public (the channel token is checked inside); a notification only publishes a sync request.
  // The framework reads each body (up to Cloud Run's 32 MiB) before our 1 KiB check: 4 at once
  // keep a flood of maximal bodies (128 MiB) within the instance's memory beside its ~310 MiB.
  calendarPush: { account: 'push', invoker: 'public', publishes: ['sync-requests'], timeoutSeconds: 60, capacity: { ...WAITING, concurrency: 4, maxInstances: 10 } },
  registerWatch: { account: 'sync', ...googleCalls, invoker: 'granted', publishes: ['task-changes'], timeoutSeconds: 120, capacity: { ...WAITING, maxInstances: 5 } },
  renewWatches: { account: 'jobs', invoker: 'scheduler', schedule: '0 * * * *', publishes: ['sync-requests', 'task-changes'], timeoutSeconds: 300, capacity: JOB },
  fallbackPoll: { account: 'jobs', invoker: 'scheduler', schedule: '*/2 * * * *', publishes: ['sync-requests', 'task-changes'], timeoutSeconds: 120, capacity: JOB },
  pruneRetention: { account: 'jobs', invoker: 'scheduler', schedule: '30 3 * * *', timeoutSeconds: 540, capacity: JOB },
  // The change stream's sweep: publishes the outbox entries whose writer did not.
  publishChanges: { account: 'jobs', invoker: 'scheduler', schedule: '* * * * *', publishes: ['task-changes'], timeoutSeconds: 120, capacity: JOB },
  // The scheduled look at a Gmail burst's tail (Cloud Tasks, OIDC of tasks-invoker).
  gmailFollowUp: { account: 'sync', ...googleCalls, invoker: 'tasks', publishes: ['sync-requests', 'task-changes'], enqueues: ['gmail-follow-ups'], timeoutSeconds: 120, capacity: { ...WAITING, maxInstances: 10 } },
  // Selects the sources due for a completeness audit; syncWorker (sync account) audits each.
  auditCompleteness: { account: 'jobs', invoker: 'scheduler', schedule: '15 4 * * *', publishes: ['sync-requests', 'task-changes'], timeoutSeconds: 540, capacity: JOB },
  // Public: it verifies a Firebase Auth ID token itself.
  sourceStatus: { account: 'status', invoker: 'public', timeoutSeconds: 60, capacity: { ...WAITING, maxInstances: 5 } },
  // Public: every route verifies its caller itself (a Firebase ID token from a browser, or a
  // Google-signed ID token of a listed server caller); confirm registers watches, disconnect
  // revokes and stops them (so its account may open refresh tokens), reconnect publishes a
  // catch-up. Its own account: it never creates Cloud Tasks or acts as another account.
  connect: { account: 'connect-api', ...googleCalls, invoker: 'public', publishes: ['sync-requests', 'task-changes'], timeoutSeconds: 120, capacity: { ...WAITING, maxInstances: 5 } },
  // The browser-facing OAuth callback: seals the new refresh token, never opens one.
  connectCallback: { account: 'connect', secrets: ['OAUTH_CLIENT_SECRET'], tokens: 'seal', invoker: 'public', timeoutSeconds: 120, capacity: { ...WAITING, maxInstances: 5 } },
};

/**
 * Environment of every function. Placeholders: {project}, {projectNumber}, {region},
 * {oauthClientId}, {connectReturnUrl}, {functionsUrl} (https://REGION-PROJECT.cloudfunctions.net,
 * which breaks the cycle of a function's configuration naming its own address), and the
 * optional settings {firebaseProjectId}, {firebaseApiKey}, {connectServerCallers},
 * {connectAllowedOrigins}. A variable whose value comes out empty is not set at all.
 */
export const ENV: Record<string, string> = {
  NODE_ENV: 'production',
  GOOGLE_CLOUD_PROJECT: '{project}',
  OAUTH_CLIENT_ID: '{oauthClientId}',
  GMAIL_TOPIC: 'projects/{project}/topics/gmail-watch',
  SYNC_REQUESTS_TOPIC: 'sync-requests',
  TASK_CHANGES_TOPIC: 'task-changes',
  CALENDAR_PUSH_URL: '{functionsUrl}/calendarPush',
  CONNECT_REDIRECT_URL: '{functionsUrl}/connectCallback/callback',
  // The audience server callers' ID tokens must name.
  CONNECT_URL: '{functionsUrl}/connect',
  CONNECT_RETURN_URL: '{connectReturnUrl}',
  // Sign-in: the Firebase project whose users sign in (unset: this project) and its web API key.
  FIREBASE_PROJECT_ID: '{firebaseProjectId}',
  FIREBASE_API_KEY: '{firebaseApiKey}',
  CONNECT_SERVER_CALLERS: '{connectServerCallers}',
  CONNECT_ALLOWED_ORIGINS: '{connectAllowedOrigins}',
  KMS_KEY_NAME: 'projects/{project}/locations/{region}/keyRings/sync-engine/cryptoKeys/refresh-tokens',
  FOLLOW_UP_QUEUE: 'projects/{project}/locations/{region}/queues/gmail-follow-ups',
  // The service's deterministic run.app address (Cloud Run names a function's service by its
  // lower-cased name): Cloud Run documents a run.app URL as the OIDC audience it accepts.
  FOLLOW_UP_URL: 'https://gmailfollowup-{projectNumber}.{region}.run.app',
  FOLLOW_UP_INVOKER: 'sync-engine-tasks-invoker@{project}.iam.gserviceaccount.com',
};

export const APIS = [
  // Enabled first: everything below waits for them.
  'serviceusage.googleapis.com',
  'cloudresourcemanager.googleapis.com',
  'iam.googleapis.com',
  'cloudfunctions.googleapis.com',
  'run.googleapis.com',
  'cloudbuild.googleapis.com',
  'artifactregistry.googleapis.com',
  'storage.googleapis.com',
  'pubsub.googleapis.com',
  'cloudscheduler.googleapis.com',
  'cloudtasks.googleapis.com',
  'firestore.googleapis.com',
  'firebaserules.googleapis.com',
  'cloudkms.googleapis.com',
  'secretmanager.googleapis.com',
  'gmail.googleapis.com',
  'calendar-json.googleapis.com',
  'logging.googleapis.com',
  'monitoring.googleapis.com',
] as const;

/** Google-managed service agents that must exist before anything is granted to them. */
export const SERVICE_AGENTS = { pubsub: 'pubsub.googleapis.com' } as const;

/** Members: `account:<key>`, `agent:<key>`, or a literal IAM member. */
type Member = `account:${AccountKey}` | `agent:${keyof typeof SERVICE_AGENTS}` | 'allUsers' | `serviceAccount:${string}`;
export interface Binding {
  member: Member;
  role: string;
}
export interface ResourceBinding extends Binding {
  resource: string;
}

export interface Subscription {
  topic: Topic;
  function: FunctionName;
  ackDeadlineSeconds: number;
  minRetryDelaySeconds: number;
  maxRetryDelaySeconds: number;
  maxDeliveryAttempts: number;
  deadLetterTopic: string;
}

export interface FunctionEntry {
  trigger: 'pubsub' | 'http';
  account: AccountKey;
  secrets: Record<string, string>;
  timeoutSeconds: number;
  cpu: string;
  memory: string;
  concurrency: number;
  maxInstances: number;
  public: boolean;
  env: Record<string, string>;
}

export interface Manifest {
  apis: readonly string[];
  serviceAgents: Record<string, string>;
  accounts: Record<string, string>;
  projectRoles: Binding[];
  accountUsers: ResourceBinding[];
  topics: string[];
  topicRoles: ResourceBinding[];
  subscriptions: Record<string, Subscription>;
  deadLetterInspection: Record<string, string>;
  subscriptionRoles: ResourceBinding[];
  secrets: typeof SECRETS;
  secretRoles: ResourceBinding[];
  keyRoles: Binding[];
  queues: typeof QUEUES;
  queueRoles: ResourceBinding[];
  functions: Record<string, FunctionEntry>;
  invokers: ResourceBinding[];
  schedules: Record<string, { function: string; schedule: string; attemptDeadlineSeconds: number }>;
  env: Record<string, string>;
  ttl: { collection: string; field: string }[];
  metrics: Record<string, LogMetric>;
  alerts: Record<string, AlertPolicy>;
}

const specs = Object.entries(FUNCTION_DEPLOYMENT) as [FunctionName, PubSubSpec | HttpSpec][];
const isPubSub = (spec: PubSubSpec | HttpSpec): spec is PubSubSpec => 'topic' in spec;
const account = (key: AccountKey): Member => `account:${key}`;
const grant = (resource: string, member: Member, role: string): ResourceBinding => ({ resource, member, role });
const binding = (member: Member, role: string): Binding => ({ member, role });
const unique = <T>(items: T[]): T[] => [...new Map(items.map((i) => [JSON.stringify(i), i])).values()];
const subscriptionName = (fn: string) => `${fn.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
const INVOKER_ACCOUNT = { scheduler: 'scheduler', tasks: 'tasks-invoker' } as const;

export function buildManifest(): Manifest {
  const pubsub = specs.filter((e): e is [FunctionName, PubSubSpec] => isPubSub(e[1]));
  const http = specs.filter((e): e is [FunctionName, HttpSpec] => !isPubSub(e[1]));
  const subscriptions = Object.fromEntries(
    pubsub.map(([fn, s]) => [
      subscriptionName(fn),
      // Pub/Sub waits for the function's answer up to the ack deadline (at most 600 s).
      {
        topic: s.topic,
        function: fn,
        ackDeadlineSeconds: Math.min(600, s.timeoutSeconds),
        minRetryDelaySeconds: PUSH_RETRY.minDelaySeconds,
        maxRetryDelaySeconds: PUSH_RETRY.maxDelaySeconds,
        maxDeliveryAttempts: PUSH_RETRY.maxDeliveryAttempts,
        deadLetterTopic: `${subscriptionName(fn)}-dead-letter`,
      },
    ]),
  );
  const deadLetters = Object.values(subscriptions).map((s) => s.deadLetterTopic);
  const kmsRole = { seal: 'roles/cloudkms.cryptoKeyEncrypter', 'seal-and-open': 'roles/cloudkms.cryptoKeyEncrypterDecrypter' } as const;
  return {
    apis: APIS,
    serviceAgents: { ...SERVICE_AGENTS },
    accounts: Object.fromEntries(Object.entries(ACCOUNTS).map(([k, a]) => [k, a.title])),
    projectRoles: (Object.entries(ACCOUNTS) as [AccountKey, { roles: readonly string[] }][]).flatMap(([k, a]) => a.roles.map((role) => binding(account(k), role))),
    accountUsers: unique(
      specs.flatMap(([, s]) => ((s.enqueues ?? []).length > 0 ? [grant('tasks-invoker', account(s.account), 'roles/iam.serviceAccountUser')] : [])),
    ).concat([
      // Pub/Sub mints the push subscriptions' OIDC tokens as this account.
      grant('pubsub-invoker', 'agent:pubsub', 'roles/iam.serviceAccountTokenCreator'),
    ]),
    topics: [...TOPICS, ...deadLetters, ...HOST_DEAD_LETTERS],
    topicRoles: unique([
      grant('gmail-watch', 'serviceAccount:gmail-api-push@system.gserviceaccount.com', 'roles/pubsub.publisher'),
      ...specs.flatMap(([, s]) => (s.publishes ?? []).map((topic) => grant(topic, account(s.account), 'roles/pubsub.publisher'))),
      ...[...deadLetters, ...HOST_DEAD_LETTERS].map((topic) => grant(topic, 'agent:pubsub', 'roles/pubsub.publisher')),
    ]),
    subscriptions,
    deadLetterInspection: Object.fromEntries([...deadLetters, ...HOST_DEAD_LETTERS].map((t) => [`${t}-inspect`, t])),
    subscriptionRoles: Object.keys(subscriptions).map((name) => grant(name, 'agent:pubsub', 'roles/pubsub.subscriber')),
    secrets: SECRETS,
    secretRoles: unique(
      specs.flatMap(([, s]) => (s.secrets ?? []).map((v) => grant(SECRETS[v], account(s.account), 'roles/secretmanager.secretAccessor'))),
    ),
    keyRoles: unique(specs.flatMap(([, s]) => (s.tokens ? [binding(account(s.account), kmsRole[s.tokens])] : []))),
    queues: QUEUES,
    queueRoles: unique(specs.flatMap(([, s]) => (s.enqueues ?? []).map((q) => grant(q, account(s.account), 'roles/cloudtasks.enqueuer')))),
    functions: Object.fromEntries(
      specs.map(([fn, s]) => [
        fn,
        {
          trigger: isPubSub(s) ? 'pubsub' : 'http',
          account: s.account,
          secrets: Object.fromEntries((s.secrets ?? []).map((v) => [v, SECRETS[v]])),
          timeoutSeconds: s.timeoutSeconds,
          ...s.capacity,
          public: !isPubSub(s) && s.invoker === 'public',
          env: s.env ?? {},
        },
      ]),
    ),
    invokers: [
      ...pubsub.map(([fn]) => grant(fn, account('pubsub-invoker'), 'roles/run.invoker')),
      ...http.flatMap(([fn, s]) =>
        s.invoker === 'public'
          ? [grant(fn, 'allUsers', 'roles/run.invoker')]
          : s.invoker === 'granted'
            ? []
            : [grant(fn, account(INVOKER_ACCOUNT[s.invoker]), 'roles/run.invoker')],
      ),
    ],
    // Scheduler gives up on an attempt after its deadline (default 180 s): give the job its timeout.
    schedules: Object.fromEntries(http.flatMap(([fn, s]) => (s.schedule ? [[fn, { function: fn, schedule: s.schedule, attemptDeadlineSeconds: Math.min(1800, s.timeoutSeconds) }]] : []))),
    env: ENV,
    ttl: [
      { collection: 'ingestion_events', field: 'expireAt' },
      { collection: 'connectStates', field: 'expireAt' },
      { collection: 'audits', field: 'expireAt' },
    ],
    metrics: LOG_METRICS,
    alerts: alertPolicies(Object.keys(subscriptions)),
  };
}

export const MANIFEST_FILE = 'infra/manifest.json';
export const renderManifest = (): string => `${JSON.stringify(buildManifest(), null, 2)}\n`;

if (require.main === module) {
  writeFileSync(join(__dirname, '../..', MANIFEST_FILE), renderManifest());
  console.log(`wrote ${MANIFEST_FILE}`);
}
