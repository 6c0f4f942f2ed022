import type { Firestore } from '@google-cloud/firestore';
import type { Config } from '../config';
import type { Clock, Logger } from '../engine/ports';
import type { FollowUpScheduler } from '../engine/runner/follow-up';
import type { SyncRequestPublisher } from '../engine/jobs/ports';
import { systemClock } from '../engine/ports';
import { SyncRunner, type Runner, type RunnerDeps } from '../engine/runner/runner';
import { DEFAULT_STATUS_SETTINGS, type StatusSettings } from '../engine/source/status';
import { markCredentialsUnreadable } from '../engine/account/credentials';
import { FirebaseUserVerifier, ServerCallerVerifier, type UserVerifier } from '../identity/id-tokens';
import type { WatchDeps } from '../engine/account/watches';
import { GoogleAccessPool, MAX_CACHED_ACCOUNTS } from '../google/access';
import { MAX_BATCH_PARTS } from '../google/gmail-batch';
import type { LimiterEnvironment } from '../google/limiter';
import { createLogger } from '../logging';
import { PubSubChangePublisher } from '../pubsub/change-publisher';
import { ChangeStream, type ChangeStreamHooks } from '../pubsub/change-stream';
import { PubSubSyncRequestPublisher } from '../pubsub/sync-requests';
import { LocalKeySealer } from '../secrets/envelope';
import { KmsKeySealer } from '../secrets/kms-sealer';
import { RefreshTokenVault } from '../secrets/refresh-tokens';
import { GoogleOAuthFlow } from '../google/oauth-flow';
import { AuditRepository } from '../store/audits';
import { ChangeOutbox } from '../store/change-outbox';
import { ChannelRepository } from '../store/channels';
import { ConnectStateRepository } from '../store/connect-states';
import { createFirestore } from '../store/firestore';
import { IngestionEventRepository } from '../store/ingestion-events';
import { SourceSecretRepository } from '../store/source-secrets';
import { SourceRepository } from '../store/sources';
import { TaskRepository } from '../store/tasks';
import { CloudTasksFollowUps } from '../tasks/follow-up-queue';

/** Everything the entry points need, built once per instance from the configuration. */
export interface Services {
  config: Config;
  /** The instance's Firestore client (shutdown, and the benchmark's operation counts). */
  db: Firestore;
  clock: Clock;
  logger: Logger;
  sources: SourceRepository;
  tasks: TaskRepository;
  /** The change stream: publishes the outbox after each commit, and sweeps what that missed. */
  changes: ChangeStream;
  audits: AuditRepository;
  events: IngestionEventRepository;
  channels: ChannelRepository;
  secrets: SourceSecretRepository;
  connectStates: ConnectStateRepository;
  oauthFlow: GoogleOAuthFlow;
  vault: RefreshTokenVault;
  publisher: SyncRequestPublisher;
  watchDeps: WatchDeps;
  statusSettings: StatusSettings;
  google: GoogleAccessPool;
  runner: Runner;
  /** Verifies the task app's signed-in users (Firebase Auth ID tokens). */
  users: UserVerifier;
  /** Verifies allowed server-to-server callers of `connect`. */
  serverCallers: ServerCallerVerifier;
}

export interface ServiceOverrides {
  clock?: Clock;
  logger?: Logger;
  limiterEnvironment?: LimiterEnvironment;
  /** `null`: no tail looks, whatever the configuration says (tests whose runs must be the only ones). */
  followUps?: FollowUpScheduler | null;
  /** Test hooks of the change stream (a process killed between a write and its publish). */
  changeHooks?: ChangeStreamHooks;
}

export function buildServices(config: Config, overrides: ServiceOverrides = {}): Services {
  const db = createFirestore(config.projectId);
  const clock = overrides.clock ?? systemClock;
  const logger = overrides.logger ?? createLogger(undefined, {}, config.logLevel);
  const statusSettings = { ...DEFAULT_STATUS_SETTINGS, fallbackAfterMs: config.fallbackAfterMs };
  const changes = new ChangeStream(new ChangeOutbox(db), new PubSubChangePublisher(config.projectId, config.taskChangesTopic), logger, overrides.changeHooks);
  const sources = new SourceRepository(db, statusSettings, changes.deliver);
  const tasks = new TaskRepository(db, changes.deliver);
  const events = new IngestionEventRepository(db, config.retentionMs);
  const secrets = new SourceSecretRepository(db);
  const channels = new ChannelRepository(db);
  const sealer = config.tokenSealing.kind === 'kms' ? new KmsKeySealer(config.tokenSealing.keyName) : new LocalKeySealer(config.tokenSealing.key);
  const vault = new RefreshTokenVault(secrets, sealer, async (id) => (await sources.get(id))?.userId ?? null);
  const google = new GoogleAccessPool(config, vault, overrides.limiterEnvironment, MAX_CACHED_ACCOUNTS, (source) => markCredentialsUnreadable({ sources, logger, clock }, source));
  const followUps = overrides.followUps !== undefined ? overrides.followUps : config.followUps && new CloudTasksFollowUps(config.followUps);
  const runner = buildRunner(config, { statusSettings, sources, tasks, events, google, clock, logger, followUps });
  const watchDeps: WatchDeps = {
    sources,
    google,
    channels,
    secrets,
    clock,
    gmailTopic: config.gmailTopic,
    calendarPushUrl: config.calendarPushUrl,
    channelTtlSeconds: config.channelTtlSeconds,
    statusSettings,
  };
  const publisher = new PubSubSyncRequestPublisher(config.projectId, config.syncRequestsTopic);
  const { users, serverCallers } = buildVerifiers(config);
  return {
    config,
    db,
    clock,
    logger,
    sources,
    tasks,
    changes,
    audits: new AuditRepository(db),
    events,
    channels,
    secrets,
    connectStates: new ConnectStateRepository(db),
    oauthFlow: new GoogleOAuthFlow(config),
    vault,
    publisher,
    watchDeps,
    statusSettings,
    google,
    runner,
    users,
    serverCallers,
  };
}

/** The sync runner over the instance's adapters and the configured settings. */
function buildRunner(config: Config, deps: Pick<RunnerDeps, 'statusSettings' | 'sources' | 'tasks' | 'events' | 'google' | 'clock' | 'logger' | 'followUps'>): SyncRunner {
  return new SyncRunner({
    ...deps,
    leaseMs: config.leaseMs,
    passBudgetMs: config.gmailPassBudgetMs,
    taskRule: config.taskRule,
    // One Gmail batch request per lease extension.
    fetchBatchSize: MAX_BATCH_PARTS,
  });
}

function buildVerifiers(config: Config): { users: FirebaseUserVerifier; serverCallers: ServerCallerVerifier } {
  const identity = config.identity;
  return {
    users: new FirebaseUserVerifier({ projectId: identity.firebaseProjectId, certsUrl: identity.firebaseCertsUrl, acceptUnsigned: identity.acceptUnsignedTokens }),
    serverCallers: new ServerCallerVerifier({ certsUrl: identity.googleCertsUrl, audience: identity.connectUrl ?? '', allowed: identity.serverCallers }),
  };
}

export { RECONNECT_NEEDED } from '../engine/source/decisions';

/** Built on first use, so an instance pays for Firestore and Google clients only when called. */
export function lazy<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}
