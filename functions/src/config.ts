import * as z from 'zod';

/**
 * Every setting the functions read, validated once at start-up. `parseConfig` takes the
 * environment as a parameter so tests pass their own instead of mutating `process.env`.
 */

const positiveInt = z.coerce.number().int().positive();
const positiveNumber = z.coerce.number().positive();
const url = z.url();
const origin = z.string().refine((v) => URL.canParse(v) && new URL(v).origin === v, 'must be an origin such as https://tasks.example.com (no path, no trailing slash)');

const envSchema = z.object({
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

export interface Config {
  projectId: string;
  /** `clientSecret` is absent on functions that never refresh a token or exchange a code. */
  oauth: { clientId: string; clientSecret?: string; tokenUrl: string; authUrl: string; revokeUrl: string };
  identity: {
    /** ID tokens must name this project as `aud` and `https://securetoken.google.com/<it>` as `iss`. */
    firebaseProjectId: string;
    firebaseCertsUrl: string;
    /** Only with the Firebase Auth emulator. */
    acceptUnsignedTokens: boolean;
    authEmulatorHost: string | null;
    webApiKey: string | null;
    googleCertsUrl: string;
    serverCallers: string[];
    connectUrl: string | null;
  };
  googleApiRootUrl: string | undefined;
  gmailTopic: string;
  syncRequestsTopic: string;
  calendarPushUrl: string;
  channelTtlSeconds: number;
  limiter: {
    ratePerSecond: number;
    burst: number;
    maxInFlight: number;
    maxAttempts: number;
    backoffBaseMs: number;
    backoffMaxMs: number;
    gmailUnitsPerMinute: number;
  };
  gmailMessagesGetUnits: number;
  retentionMs: number;
  renewBeforeMs: number;
  fallbackAfterMs: number;
  pollPageSize: number;
  leaseMs: number;
  gmailPassBudgetMs: number;
  taskRule: { calendarPastMs: number; calendarFutureMs: number; gmailResyncMaxAgeMs: number };
  audit: { periodMs: number; windowMs: number; graceMs: number; maxMessages: number; maxSources: number };
  followUps: { queue: string; url: string; invoker: string; apiUrl: string | undefined } | null;
  tokenSealing: { kind: 'kms'; keyName: string } | { kind: 'local'; key: Buffer };
  /** `allowedOrigins`: the pages that may start a flow (`CONNECT_ALLOWED_ORIGINS`, or locally the return URL's origin). */
  connect: { redirectUrl: string; returnUrl: string; allowedOrigins: string[] };
}

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

const HOUR_MS = 3_600_000;

/**
 * Google sends browsers to the redirect URL: when it is not a loopback address, the connect
 * flow is reachable from the Internet, and the pages that may start it must be named.
 */
export function connectFlowIsPublic(redirectUrl: string): boolean {
  const host = new URL(redirectUrl).hostname;
  return !(host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host));
}

function connectConflicts(e: z.infer<typeof envSchema>): string[] {
  const problems: string[] = [];
  if (e.CONNECT_SERVER_CALLERS.length > 0 && !e.CONNECT_URL) {
    problems.push('CONNECT_URL: required with CONNECT_SERVER_CALLERS (the audience of their ID tokens)');
  }
  if (e.CONNECT_ALLOWED_ORIGINS.length === 0 && connectFlowIsPublic(e.CONNECT_REDIRECT_URL)) {
    problems.push('CONNECT_ALLOWED_ORIGINS: required when CONNECT_REDIRECT_URL is not a loopback address (the origins of the pages that start connecting)');
  }
  return problems;
}

/** Settings that must never meet: each names a problem, none when the environment is coherent. */
function conflictingSettings(env: Env, e: z.infer<typeof envSchema> | undefined): string[] {
  const problems: string[] = [];
  if (!env.KMS_KEY_NAME === !env.TOKEN_ENCRYPTION_KEY) {
    problems.push('KMS_KEY_NAME / TOKEN_ENCRYPTION_KEY: set exactly one (KMS in production, a local key for local runs)');
  }
  if (env.FIREBASE_AUTH_EMULATOR_HOST && (env.KMS_KEY_NAME || env.K_SERVICE)) {
    problems.push('FIREBASE_AUTH_EMULATOR_HOST: refused next to production settings (KMS_KEY_NAME, K_SERVICE): it turns off ID-token signature checks');
  }
  if (e) problems.push(...connectConflicts(e));
  const followUpVars = [env.FOLLOW_UP_QUEUE, env.FOLLOW_UP_URL, env.FOLLOW_UP_INVOKER].filter((v) => v !== undefined && v !== '');
  if (followUpVars.length !== 0 && followUpVars.length !== 3) {
    problems.push('FOLLOW_UP_QUEUE / FOLLOW_UP_URL / FOLLOW_UP_INVOKER: set all three (Gmail tail looks) or none');
  }
  return problems;
}

export function parseConfig(env: Env = process.env): Config {
  const parsed = envSchema.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`);
  problems.push(...conflictingSettings(env, parsed.data));
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    projectId: e.GOOGLE_CLOUD_PROJECT,
    oauth: {
      clientId: e.OAUTH_CLIENT_ID,
      ...(e.OAUTH_CLIENT_SECRET !== undefined && { clientSecret: e.OAUTH_CLIENT_SECRET }),
      tokenUrl: e.GOOGLE_OAUTH_TOKEN_URL,
      authUrl: e.GOOGLE_OAUTH_AUTH_URL,
      revokeUrl: e.GOOGLE_OAUTH_REVOKE_URL,
    },
    identity: {
      firebaseProjectId: e.FIREBASE_PROJECT_ID ?? e.GOOGLE_CLOUD_PROJECT,
      firebaseCertsUrl: e.FIREBASE_AUTH_CERTS_URL,
      acceptUnsignedTokens: e.FIREBASE_AUTH_EMULATOR_HOST !== undefined,
      authEmulatorHost: e.FIREBASE_AUTH_EMULATOR_HOST ?? null,
      webApiKey: e.FIREBASE_API_KEY ?? null,
      googleCertsUrl: e.GOOGLE_ID_TOKEN_CERTS_URL,
      serverCallers: e.CONNECT_SERVER_CALLERS,
      connectUrl: e.CONNECT_URL ?? null,
    },
    googleApiRootUrl: e.GOOGLE_API_ROOT_URL,
    gmailTopic: e.GMAIL_TOPIC ?? `projects/${e.GOOGLE_CLOUD_PROJECT}/topics/gmail-watch`,
    syncRequestsTopic: e.SYNC_REQUESTS_TOPIC,
    calendarPushUrl: e.CALENDAR_PUSH_URL,
    channelTtlSeconds: e.CHANNEL_TTL_HOURS * 3600,
    limiter: {
      ratePerSecond: e.RATE_LIMIT_PER_SECOND,
      burst: e.RATE_LIMIT_BURST,
      maxInFlight: e.MAX_IN_FLIGHT,
      maxAttempts: e.MAX_ATTEMPTS,
      backoffBaseMs: e.BACKOFF_BASE_MS,
      backoffMaxMs: e.BACKOFF_MAX_MS,
      gmailUnitsPerMinute: e.GMAIL_UNITS_PER_MINUTE,
    },
    gmailMessagesGetUnits: e.GMAIL_MESSAGES_GET_UNITS,
    retentionMs: e.RETENTION_DAYS * 24 * HOUR_MS,
    renewBeforeMs: e.RENEW_BEFORE_HOURS * HOUR_MS,
    fallbackAfterMs: e.FALLBACK_AFTER_MINUTES * 60_000,
    pollPageSize: e.POLL_PAGE_SIZE,
    leaseMs: e.LEASE_SECONDS * 1000,
    gmailPassBudgetMs: e.GMAIL_PASS_BUDGET_SECONDS * 1000,
    taskRule: {
      calendarPastMs: e.CALENDAR_PAST_DAYS * 24 * HOUR_MS,
      calendarFutureMs: e.CALENDAR_FUTURE_DAYS * 24 * HOUR_MS,
      gmailResyncMaxAgeMs: e.GMAIL_RESYNC_MAX_AGE_DAYS * 24 * HOUR_MS,
    },
    audit: {
      periodMs: e.AUDIT_PERIOD_HOURS * HOUR_MS,
      windowMs: e.AUDIT_WINDOW_HOURS * HOUR_MS,
      graceMs: e.AUDIT_GRACE_SECONDS * 1000,
      maxMessages: e.AUDIT_MAX_MESSAGES,
      maxSources: e.AUDIT_MAX_SOURCES,
    },
    followUps:
      e.FOLLOW_UP_QUEUE && e.FOLLOW_UP_URL && e.FOLLOW_UP_INVOKER
        ? { queue: e.FOLLOW_UP_QUEUE, url: e.FOLLOW_UP_URL, invoker: e.FOLLOW_UP_INVOKER, apiUrl: e.CLOUD_TASKS_API_URL }
        : null,
    tokenSealing: e.KMS_KEY_NAME
      ? { kind: 'kms', keyName: e.KMS_KEY_NAME }
      : { kind: 'local', key: Buffer.from(e.TOKEN_ENCRYPTION_KEY ?? '', 'base64') },
    connect: {
      redirectUrl: e.CONNECT_REDIRECT_URL,
      returnUrl: e.CONNECT_RETURN_URL,
      allowedOrigins: e.CONNECT_ALLOWED_ORIGINS.length > 0 ? e.CONNECT_ALLOWED_ORIGINS : [new URL(e.CONNECT_RETURN_URL).origin],
    },
  };
}
