import type { Firestore } from '@google-cloud/firestore';
import type { Config } from '../config';
import type { Clock, Logger, SyncRequestPublisher } from '../engine/ports';
import { systemClock } from '../engine/ports';
import { SyncRunner, type Runner } from '../engine/runner';
import { DEFAULT_STATUS_SETTINGS, type StatusSettings } from '../engine/status';
import type { WatchDeps } from '../engine/watches';
import { GoogleAccessPool } from '../google/access';
import { MAX_BATCH_PARTS } from '../google/gmail-batch';
import type { LimiterEnvironment } from '../google/limiter';
import { createLogger } from '../logging';
import { PubSubSyncRequestPublisher } from '../pubsub/sync-requests';
import { LocalKeySealer } from '../secrets/envelope';
import { KmsKeySealer } from '../secrets/kms-sealer';
import { RefreshTokenVault } from '../secrets/refresh-tokens';
import { GoogleOAuthFlow } from '../google/oauth-flow';
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
}

export interface ServiceOverrides {
  clock?: Clock;
  logger?: Logger;
  limiterEnvironment?: LimiterEnvironment;
}

export function buildServices(config: Config, overrides: ServiceOverrides = {}): Services {
  const db = createFirestore(config.projectId);
  const clock = overrides.clock ?? systemClock;
  const logger = overrides.logger ?? createLogger();
  const sources = new SourceRepository(db);
  const tasks = new TaskRepository(db);
  const events = new IngestionEventRepository(db, config.retentionMs);
  const secrets = new SourceSecretRepository(db);
  const channels = new ChannelRepository(db);
  const sealer = config.tokenSealing.kind === 'kms' ? new KmsKeySealer(config.tokenSealing.keyName) : new LocalKeySealer(config.tokenSealing.key);
  const vault = new RefreshTokenVault(secrets, sealer);
  const google = new GoogleAccessPool(config, vault, overrides.limiterEnvironment);
  const statusSettings = { ...DEFAULT_STATUS_SETTINGS, fallbackAfterMs: config.fallbackAfterMs };
  const runner = new SyncRunner({
    statusSettings,
    sources,
    tasks,
    events,
    google,
    clock,
    logger,
    leaseMs: config.leaseMs,
    fullSyncMaxMessages: config.fullSyncMaxMessages,
    followUps: config.followUps && new CloudTasksFollowUps(config.followUps),
    // One Gmail batch request per lease extension.
    fetchBatchSize: MAX_BATCH_PARTS,
  });
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
  return {
    config,
    db,
    clock,
    logger,
    sources,
    tasks,
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
  };
}

/** Built on first use, so an instance pays for Firestore and Google clients only when called. */
export function lazy<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}
