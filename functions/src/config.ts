import * as z from 'zod';
import { SEVERITIES } from './logging';

/**
 * Every setting the functions read, validated once at start-up. `parseConfig` takes the
 * environment as a parameter so tests pass their own instead of mutating `process.env`.
 */

const positiveInt = z.coerce.number().int().positive();
const positiveNumber = z.coerce.number().positive();
const url = z.url();
const origin = z.string().refine((v) => URL.canParse(v) && new URL(v).origin === v, 'must be an origin such as https://tasks.example.com (no path, no trailing slash)');

export const envSchema = z.object({
  GOOGLE_CLOUD_PROJECT: z.string().min(1, 'required: the Google Cloud project id'),
  OAUTH_CLIENT_ID: z.string().min(1, 'required: the OAuth client id'),
  /** Mounted only on the functions that call Google for a user (infra manifest: `secrets`). */
  OAUTH_CLIENT_SECRET: z.string().min(1, 'must not be empty when set').optional(),
  /** Overrides Google's API root (Gmail and Calendar); the sandbox URL in local runs and tests. */
  GOOGLE_API_ROOT_URL: url.optional(),
  GOOGLE_OAUTH_TOKEN_URL: url.default('https://oauth2.googleapis.com/token'),
  GOOGLE_OAUTH_AUTH_URL: url.default('https://accounts.google.com/o/oauth2/v2/auth'),
  GOOGLE_OAUTH_REVOKE_URL: url.default('https://oauth2.googleapis.com/revoke'),
  /** Keys that sign Firebase Auth ID tokens (overridden for the sandbox's loopback keys). */
  FIREBASE_AUTH_CERTS_URL: url.default('https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com'),
  /** Set only with the Firebase Auth emulator: then, and only then, unsigned ID tokens are accepted. */
  FIREBASE_AUTH_EMULATOR_HOST: z.string().regex(/^[\w.-]+:\d+$/, 'must be host:port').optional(),
  /** The Firebase project whose users sign in (the task app's); defaults to GOOGLE_CLOUD_PROJECT. */
  FIREBASE_PROJECT_ID: z.string().min(1).optional(),
  /** The Firebase web API key the status page signs in with (public by design; optional). */
  FIREBASE_API_KEY: z.string().min(1).optional(),
  /** Keys that sign Google's own ID tokens (server-to-server callers). */
  GOOGLE_ID_TOKEN_CERTS_URL: url.default('https://www.googleapis.com/oauth2/v1/certs'),
  /** Service accounts that may call `connect` server-to-server and name the user (comma-separated). */
  CONNECT_SERVER_CALLERS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((e) => e.trim().toLowerCase()).filter(Boolean))
    .pipe(z.array(z.email())),
  /**
   * Origins whose pages may start a connect flow (`POST connect/start`), comma-separated;
   * required when the flow is public (see `connectFlowIsPublic`).
   */
  CONNECT_ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean))
    .pipe(z.array(origin)),
  /** The `connect` function's URL: the audience of server callers' ID tokens. */
  CONNECT_URL: url.optional(),
  /** Topic Gmail's users.watch publishes to; defaults to `gmail-watch` in the project. */
  GMAIL_TOPIC: z
    .string()
    .regex(/^projects\/[^/]+\/topics\/[^/]+$/, 'must look like projects/<project>/topics/<topic>')
    .optional(),
  SYNC_REQUESTS_TOPIC: z.string().min(1).default('sync-requests'),
  /** The change stream: every task change and source status change, for the host app. */
  TASK_CHANGES_TOPIC: z.string().min(1).default('task-changes'),
  /** HTTPS address of the calendarPush function, given to Calendar's events.watch. */
  CALENDAR_PUSH_URL: url,
  CHANNEL_TTL_HOURS: positiveInt.max(24 * 30).default(24 * 7),
  RATE_LIMIT_PER_SECOND: positiveNumber.default(1),
  RATE_LIMIT_BURST: positiveInt.default(3),
  MAX_IN_FLIGHT: positiveInt.default(5),
  MAX_ATTEMPTS: positiveInt.default(5),
  /** Gmail's per-user quota: 6,000 units a minute for projects created since 2026-05-01, 15,000 before. */
  GMAIL_UNITS_PER_MINUTE: positiveInt.default(6000),
  /** Units a messages.get costs: 20 for new projects, 5 for older ones. */
  GMAIL_MESSAGES_GET_UNITS: positiveInt.default(20),
  BACKOFF_BASE_MS: positiveInt.default(500),
  BACKOFF_MAX_MS: positiveInt.default(32_000),
  /** The least severe log lines written; DEBUG adds a line per look scheduled, look handled and request handled. */
  LOG_LEVEL: z.enum(SEVERITIES).default('INFO'),
  RETENTION_DAYS: positiveInt.default(7),
  RENEW_BEFORE_HOURS: positiveInt.default(24),
  FALLBACK_AFTER_MINUTES: positiveInt.default(10),
  POLL_PAGE_SIZE: positiveInt.max(500).default(5),
  LEASE_SECONDS: positiveInt.default(60),
  /** A Gmail pass starts no new page after this long; the rest is handed on (pending stays set). */
  GMAIL_PASS_BUDGET_SECONDS: positiveInt.max(3600).default(60),
  /** The task rule (README, "What becomes a task"): events from this many days ago… */
  CALENDAR_PAST_DAYS: positiveInt.max(365).default(7),
  /** …to this many days ahead become tasks. */
  CALENDAR_FUTURE_DAYS: positiveInt.max(3650).default(30),
  /** A Gmail resync after history expired walks the inbox back at most this many days. */
  GMAIL_RESYNC_MAX_AGE_DAYS: positiveInt.max(3650).default(30),
  RULE_BACKFILL_DAYS: positiveInt.max(3650).default(14),
  /** Completeness audit: a source audited within the period is skipped; each audit looks back over the window. */
  AUDIT_PERIOD_HOURS: positiveInt.default(24),
  AUDIT_WINDOW_HOURS: positiveInt.max(24 * 19).default(24),
  AUDIT_GRACE_SECONDS: z.coerce.number().int().min(0).default(300),
  AUDIT_MAX_MESSAGES: positiveInt.max(2000).default(200),
  AUDIT_MAX_SOURCES: positiveInt.default(500),
  /** Cloud Tasks queue for Gmail tail looks (projects/P/locations/R/queues/gmail-follow-ups); unset = no tail looks. */
  FOLLOW_UP_QUEUE: z
    .string()
    .regex(/^projects\/[^/]+\/locations\/[^/]+\/queues\/[^/]+$/, 'must be projects/…/locations/…/queues/…')
    .optional(),
  /** HTTPS address of the gmailFollowUp function, the tasks' target and OIDC audience. */
  FOLLOW_UP_URL: url.optional(),
  /** Service account whose OIDC token the tasks carry (tasks-invoker@…). */
  FOLLOW_UP_INVOKER: z.email().optional(),
  /** Overrides the Cloud Tasks API address (the sandbox in local runs and tests). */
  CLOUD_TASKS_API_URL: url.optional(),
  /** Cloud KMS key that seals refresh-token data keys (production). */
  KMS_KEY_NAME: z
    .string()
    .regex(/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/, 'must be projects/…/locations/…/keyRings/…/cryptoKeys/…')
    .optional(),
  /** Base64 of 32 random bytes that seals the data keys instead (local runs and tests). */
  TOKEN_ENCRYPTION_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be base64 of exactly 32 bytes (openssl rand -base64 32)')
    .optional(),
  /** Where Google sends the user back after consent: the public connect callback. */
  CONNECT_REDIRECT_URL: url,
  /** Where the callback sends the user when done (the task app). */
  CONNECT_RETURN_URL: url,
});

export type Env = Record<string, string | undefined>;
type Settings = z.output<typeof envSchema>;

/**
 * What the functions read, derived from the settings: grouped by concern and in working units
 * (milliseconds). A new setting is one line in `envSchema` plus the line in `toConfig` that places it.
 */
export type Config = z.output<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Missing or invalid environment variables:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** The OAuth client as google-auth-library takes it; the secret only where it is mounted. */
export function oauthClientOptions(oauth: Config['oauth']): { clientId: string; clientSecret?: string } {
  return { clientId: oauth.clientId, ...(oauth.clientSecret !== undefined && { clientSecret: oauth.clientSecret }) };
}

/** For code that cannot work without the secret: a deployment mistake named as one. */
export function requireClientSecret(oauth: Config['oauth']): string {
  if (oauth.clientSecret === undefined) throw new ConfigError(['OAUTH_CLIENT_SECRET: not mounted on this function; add it to its `secrets` in scripts/deploy/manifest.ts']);
  return oauth.clientSecret;
}

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** `clientSecret` is absent on functions that never refresh a token or exchange a code. */
function oauthSettings(e: Settings) {
  return {
    clientId: e.OAUTH_CLIENT_ID,
    ...(e.OAUTH_CLIENT_SECRET !== undefined && { clientSecret: e.OAUTH_CLIENT_SECRET }),
    tokenUrl: e.GOOGLE_OAUTH_TOKEN_URL,
    authUrl: e.GOOGLE_OAUTH_AUTH_URL,
    revokeUrl: e.GOOGLE_OAUTH_REVOKE_URL,
  };
}

function identitySettings(e: Settings) {
  return {
    /** ID tokens must name this project as `aud` and `https://securetoken.google.com/<it>` as `iss`. */
    firebaseProjectId: e.FIREBASE_PROJECT_ID ?? e.GOOGLE_CLOUD_PROJECT,
    firebaseCertsUrl: e.FIREBASE_AUTH_CERTS_URL,
    /** Only with the Firebase Auth emulator. */
    acceptUnsignedTokens: e.FIREBASE_AUTH_EMULATOR_HOST !== undefined,
    authEmulatorHost: e.FIREBASE_AUTH_EMULATOR_HOST ?? null,
    webApiKey: e.FIREBASE_API_KEY ?? null,
    googleCertsUrl: e.GOOGLE_ID_TOKEN_CERTS_URL,
    serverCallers: e.CONNECT_SERVER_CALLERS,
    connectUrl: e.CONNECT_URL ?? null,
  };
}

function limiterSettings(e: Settings) {
  return {
    ratePerSecond: e.RATE_LIMIT_PER_SECOND,
    burst: e.RATE_LIMIT_BURST,
    maxInFlight: e.MAX_IN_FLIGHT,
    maxAttempts: e.MAX_ATTEMPTS,
    backoffBaseMs: e.BACKOFF_BASE_MS,
    backoffMaxMs: e.BACKOFF_MAX_MS,
    gmailUnitsPerMinute: e.GMAIL_UNITS_PER_MINUTE,
  };
}

function auditSettings(e: Settings) {
  return {
    periodMs: e.AUDIT_PERIOD_HOURS * HOUR_MS,
    windowMs: e.AUDIT_WINDOW_HOURS * HOUR_MS,
    graceMs: e.AUDIT_GRACE_SECONDS * SECOND_MS,
    maxMessages: e.AUDIT_MAX_MESSAGES,
    maxSources: e.AUDIT_MAX_SOURCES,
  };
}

/** Gmail tail looks need all three; the cross-setting rule below reports a partial set. */
function followUpSettings(e: Settings) {
  if (!e.FOLLOW_UP_QUEUE || !e.FOLLOW_UP_URL || !e.FOLLOW_UP_INVOKER) return null;
  return { queue: e.FOLLOW_UP_QUEUE, url: e.FOLLOW_UP_URL, invoker: e.FOLLOW_UP_INVOKER, apiUrl: e.CLOUD_TASKS_API_URL };
}

function tokenSealingSettings(e: Settings): { kind: 'kms'; keyName: string } | { kind: 'local'; key: Buffer } {
  if (e.KMS_KEY_NAME) return { kind: 'kms', keyName: e.KMS_KEY_NAME };
  return { kind: 'local', key: Buffer.from(e.TOKEN_ENCRYPTION_KEY ?? '', 'base64') };
}

function toConfig(e: Settings) {
  return {
    projectId: e.GOOGLE_CLOUD_PROJECT,
    oauth: oauthSettings(e),
    identity: identitySettings(e),
    googleApiRootUrl: e.GOOGLE_API_ROOT_URL,
    gmailTopic: e.GMAIL_TOPIC ?? `projects/${e.GOOGLE_CLOUD_PROJECT}/topics/gmail-watch`,
    syncRequestsTopic: e.SYNC_REQUESTS_TOPIC,
    taskChangesTopic: e.TASK_CHANGES_TOPIC,
    calendarPushUrl: e.CALENDAR_PUSH_URL,
    channelTtlSeconds: e.CHANNEL_TTL_HOURS * 3600,
    limiter: limiterSettings(e),
    gmailMessagesGetUnits: e.GMAIL_MESSAGES_GET_UNITS,
    logLevel: e.LOG_LEVEL,
    retentionMs: e.RETENTION_DAYS * DAY_MS,
    renewBeforeMs: e.RENEW_BEFORE_HOURS * HOUR_MS,
    fallbackAfterMs: e.FALLBACK_AFTER_MINUTES * MINUTE_MS,
    pollPageSize: e.POLL_PAGE_SIZE,
    leaseMs: e.LEASE_SECONDS * SECOND_MS,
    gmailPassBudgetMs: e.GMAIL_PASS_BUDGET_SECONDS * SECOND_MS,
    taskRule: {
      calendarPastMs: e.CALENDAR_PAST_DAYS * DAY_MS,
      calendarFutureMs: e.CALENDAR_FUTURE_DAYS * DAY_MS,
      gmailResyncMaxAgeMs: e.GMAIL_RESYNC_MAX_AGE_DAYS * DAY_MS,
      gmailRuleBackfillMs: e.RULE_BACKFILL_DAYS * DAY_MS,
    },
    audit: auditSettings(e),
    followUps: followUpSettings(e),
    tokenSealing: tokenSealingSettings(e),
    connect: {
      redirectUrl: e.CONNECT_REDIRECT_URL,
      returnUrl: e.CONNECT_RETURN_URL,
      /** The pages that may start a flow: `CONNECT_ALLOWED_ORIGINS`, or locally the return URL's origin. */
      allowedOrigins: e.CONNECT_ALLOWED_ORIGINS.length > 0 ? e.CONNECT_ALLOWED_ORIGINS : [new URL(e.CONNECT_RETURN_URL).origin],
    },
  };
}

const configSchema = envSchema.transform(toConfig);

/**
 * Google sends browsers to the redirect URL: when it is not a loopback address, the connect
 * flow is reachable from the Internet, and the pages that may start it must be named.
 */
export function connectFlowIsPublic(redirectUrl: string): boolean {
  const host = new URL(redirectUrl).hostname;
  return !(host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host));
}

/**
 * Rules that span settings. They read the raw environment (and the config when every setting
 * is valid), so their problems are reported together with the per-setting ones.
 */
const crossSettingRules: Array<(env: Env, config: Config | undefined) => string | null> = [
  (env) =>
    !env.KMS_KEY_NAME === !env.TOKEN_ENCRYPTION_KEY
      ? 'KMS_KEY_NAME / TOKEN_ENCRYPTION_KEY: set exactly one (KMS in production, a local key for local runs)'
      : null,
  (_env, config) =>
    config && config.identity.serverCallers.length > 0 && !config.identity.connectUrl
      ? 'CONNECT_URL: required with CONNECT_SERVER_CALLERS (the audience of their ID tokens)'
      : null,
  (env) =>
    env.FIREBASE_AUTH_EMULATOR_HOST && (env.KMS_KEY_NAME || env.K_SERVICE)
      ? 'FIREBASE_AUTH_EMULATOR_HOST: refused next to production settings (KMS_KEY_NAME, K_SERVICE): it turns off ID-token signature checks'
      : null,
  (env, config) =>
    config && !env.CONNECT_ALLOWED_ORIGINS?.trim() && connectFlowIsPublic(config.connect.redirectUrl)
      ? 'CONNECT_ALLOWED_ORIGINS: required when CONNECT_REDIRECT_URL is not a loopback address (the origins of the pages that start connecting)'
      : null,
  (env) => {
    const set = [env.FOLLOW_UP_QUEUE, env.FOLLOW_UP_URL, env.FOLLOW_UP_INVOKER].filter((v) => v !== undefined && v !== '').length;
    return set !== 0 && set !== 3 ? 'FOLLOW_UP_QUEUE / FOLLOW_UP_URL / FOLLOW_UP_INVOKER: set all three (Gmail tail looks) or none' : null;
  },
];

export function parseConfig(env: Env = process.env): Config {
  const parsed = configSchema.safeParse(env);
  const problems = [
    ...(parsed.error?.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`) ?? []),
    ...crossSettingRules.map((rule) => rule(env, parsed.data)).filter((problem) => problem !== null),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  return parsed.data;
}
