import { CalendarData, type Channel } from './calendar-data';
import { SandboxClock } from './clock';
import { FaultInjector } from './faults';
import { ReadLag } from './lag';
import { Mailbox, type Change } from './mailbox';
import { ENGINE_SCOPES, OAuthState } from './oauth-state';
import { PushDelivery } from './push';
import { Random } from './random';
import { TaskQueues } from './task-queue';
import { DEFAULT_QUOTA, Usage, type QuotaConfig } from './usage';

/** Everything the sandbox knows: accounts, their mail and calendars, tokens, watches, faults. */

export interface SandboxOptions {
  clientId: string;
  clientSecret: string;
  pubsubEmulatorHost: string | undefined;
  seed: number;
  historyRetentionMs: number;
  gmailPushMinIntervalMs: number;
  calendarRetryBaseMs: number;
  quota: QuotaConfig;
  quotaExceededStatus: 403 | 429;
}

export const DEFAULT_OPTIONS: SandboxOptions = {
  clientId: 'sandbox-client-id.apps.googleusercontent.com',
  clientSecret: 'sandbox-client-secret',
  pubsubEmulatorHost: process.env.PUBSUB_EMULATOR_HOST,
  seed: 1,
  historyRetentionMs: 7 * 24 * 3_600_000,
  gmailPushMinIntervalMs: 1000,
  calendarRetryBaseMs: 1000,
  quota: DEFAULT_QUOTA,
  quotaExceededStatus: 429,
};

export const WATCH_TTL_MS = 7 * 24 * 3_600_000;

export interface GmailWatch {
  topicName: string;
  labelIds: string[];
  behavior: 'include' | 'exclude';
  expiration: number;
  lastPublishAt: number;
}

export interface Account {
  email: string;
  mailbox: Mailbox;
  calendar: CalendarData;
  gmailWatch: GmailWatch | null;
}

export class World {
  readonly clock = new SandboxClock();
  random: Random;
  oauth: OAuthState;
  faults: FaultInjector;
  lag: ReadLag;
  push: PushDelivery;
  readonly usage: Usage;
  /** Cloud Tasks queues (the engine's scheduled Gmail follow-ups). */
  readonly tasks = new TaskQueues(() => this.clock.now());
  readonly accounts = new Map<string, Account>();
  readonly channels = new Map<string, Channel>();

  constructor(readonly options: SandboxOptions) {
    this.random = new Random(options.seed);
    this.oauth = new OAuthState(this.random);
    this.faults = new FaultInjector(this.random);
    this.lag = new ReadLag(this.random);
    this.push = this.newPushDelivery();
    this.usage = new Usage(options.quota);
  }

  private newPushDelivery(): PushDelivery {
    return new PushDelivery(this.faults, {
      pubsubEmulatorHost: this.options.pubsubEmulatorHost,
      calendarRetryBaseMs: this.options.calendarRetryBaseMs,
    });
  }

  /** Forgets every account, token, watch, fault and count. */
  async reset(seed = this.options.seed): Promise<void> {
    await this.push.close();
    this.accounts.clear();
    this.channels.clear();
    this.clock.reset();
    this.usage.reset();
    this.random = new Random(seed);
    this.oauth = new OAuthState(this.random);
    this.faults = new FaultInjector(this.random);
    this.lag = new ReadLag(this.random);
    this.push = this.newPushDelivery();
  }

  createAccount(email: string): { account: Account; refreshToken: string } {
    const existing = this.accounts.get(email);
    const account: Account = existing ?? {
      email,
      mailbox: new Mailbox(email, this.random, () => this.lag.delayMs(email, 'gmail')),
      calendar: new CalendarData(email, this.random, () => this.lag.delayMs(email, 'calendar')),
      gmailWatch: null,
    };
    this.accounts.set(email, account);
    const refreshToken = this.oauth.grantRefreshToken({ email, clientId: this.options.clientId, scopes: ENGINE_SCOPES });
    return { account, refreshToken };
  }

  account(email: string): Account | undefined {
    return this.accounts.get(email);
  }

  /**
   * Records a mailbox change and notifies the watch, at most once a second per user. Says
   * whether the change was announced and, when its notification was dropped, when the
   * mailbox could next be notified (what the benchmark's burst-tail floor starts from).
   */
  gmailChanged(account: Account, changes: Change[]): { announced: boolean; notifiableAt: number | null } {
    const watch = account.gmailWatch;
    const now = this.clock.now();
    account.mailbox.pruneHistory(now, this.options.historyRetentionMs);
    const silent = { announced: false, notifiableAt: null };
    if (!watch || watch.expiration <= now) return silent;
    const relevant = changes.some(({ record }) => {
      const labels = new Set([...record.labelsBefore, ...record.labelsAfter]);
      const touches = watch.labelIds.length === 0 || watch.labelIds.some((l) => labels.has(l));
      return watch.behavior === 'include' ? touches : !touches || watch.labelIds.length === 0;
    });
    if (!relevant) return silent;
    const realNow = Date.now();
    if (realNow - watch.lastPublishAt < this.options.gmailPushMinIntervalMs) {
      this.push.log.gmailDroppedRate += 1;
      return { announced: false, notifiableAt: watch.lastPublishAt + this.options.gmailPushMinIntervalMs };
    }
    watch.lastPublishAt = realNow;
    this.push.publishGmail(watch.topicName, account.email, account.mailbox.historyId);
    return { announced: true, notifiableAt: null };
  }

  /** Every live channel on the account's calendar gets an `exists` notification. */
  calendarChanged(account: Account): void {
    const now = this.clock.now();
    for (const channel of this.channels.values()) {
      if (channel.ownerEmail !== account.email || channel.stopped || channel.expiration <= now) continue;
      this.push.notifyCalendar(channel, 'exists', this.calendarResourceUri(account));
    }
  }

  calendarResourceUri(account: Account): string {
    return `https://www.googleapis.com/calendar/v3/calendars/${encodeURIComponent(account.email)}/events?alt=json`;
  }

  setQuota(quota: Partial<QuotaConfig>, exceededStatus?: 403 | 429): void {
    this.usage.quota = { ...this.usage.quota, ...quota };
    if (exceededStatus) this.options.quotaExceededStatus = exceededStatus;
  }
}
