import { CalendarData, type AccessRole, type Channel, type StoredEvent } from './calendar-data';
import { CalendarList, PRIMARY_DEFAULT_REMINDERS, type ListEntry } from './calendar-list';
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
  /** The primary calendar (its id is the account's address). */
  calendar: CalendarData;
  calendarList: CalendarList;
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
  /** Every calendar by id: primary ones and secondary ones, owned by one account, maybe shared. */
  readonly calendars = new Map<string, CalendarData>();

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
    this.calendars.clear();
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
    const account: Account = existing ?? this.newAccount(email);
    this.accounts.set(email, account);
    const refreshToken = this.oauth.grantRefreshToken({ email, clientId: this.options.clientId, scopes: ENGINE_SCOPES });
    return { account, refreshToken };
  }

  private newAccount(email: string): Account {
    const calendarList = new CalendarList(this.random);
    calendarList.set(email, 'owner', { primary: true, defaultReminders: PRIMARY_DEFAULT_REMINDERS });
    return {
      email,
      mailbox: new Mailbox(email, this.random, () => this.lag.delayMs(email, 'gmail')),
      calendar: this.newCalendar(email, email),
      calendarList,
      gmailWatch: null,
    };
  }

  /** Calendar lag follows the rule of the calendar's data owner. */
  private newCalendar(id: string, ownerEmail: string): CalendarData {
    const calendar = new CalendarData(id, ownerEmail, this.random, () => this.lag.delayMs(ownerEmail, 'calendar'));
    this.calendars.set(id, calendar);
    return calendar;
  }

  /** A secondary calendar the account owns, with an id like Google's. */
  createCalendar(owner: Account, summary: string): CalendarData {
    const calendar = this.newCalendar(`c_${this.random.hex(40)}@group.calendar.google.com`, owner.email);
    calendar.summary = summary;
    owner.calendarList.set(calendar.id, 'owner');
    this.calendarListChanged(owner);
    return calendar;
  }

  /** Gives an account a role on the calendar (or changes it): the calendar appears in its list. */
  shareCalendar(calendar: CalendarData, account: Account, role: AccessRole): void {
    if (account.email === calendar.ownerEmail) throw new Error(`the owner of ${calendar.id} keeps the owner role`);
    calendar.acl.set(account.email, role);
    account.calendarList.set(calendar.id, role);
    this.calendarListChanged(account);
  }

  /** Takes an account's access away: the calendar leaves its list. */
  unshareCalendar(calendar: CalendarData, account: Account): void {
    if (account.email === calendar.ownerEmail) throw new Error(`the owner of ${calendar.id} keeps the owner role`);
    account.calendarList.remove(calendar.id);
    calendar.acl.delete(account.email);
    this.calendarListChanged(account);
  }

  /** A calendar's summary changed: every list carrying it changes. */
  calendarRenamed(calendar: CalendarData): void {
    for (const account of this.accounts.values()) {
      if (!account.calendarList.live(calendar.id)) continue;
      account.calendarList.touch(calendar.id);
      this.calendarListChanged(account);
    }
  }

  /** The calendar an account reaches by an id (`primary`: its own) and its list entry; null if it is not in the list. */
  calendarFor(account: Account, calendarId: string): { calendar: CalendarData; entry: ListEntry } | null {
    const id = calendarId === 'primary' ? account.email : calendarId;
    const entry = account.calendarList.live(id);
    const calendar = this.calendars.get(id);
    return entry && calendar ? { calendar, entry } : null;
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

  /** Every live channel on the calendar whose event types cover the event gets an `exists` notification. */
  calendarChanged(calendar: CalendarData, event: StoredEvent): void {
    for (const channel of this.liveChannels()) {
      const watched = channel.watches;
      if (watched.kind !== 'events' || watched.calendarId !== calendar.id) continue;
      if (watched.eventTypes.length > 0 && !watched.eventTypes.includes(event.eventType)) continue;
      // A channel whose owner lost access to the calendar says nothing more.
      if (!this.accounts.get(channel.ownerEmail)?.calendarList.live(calendar.id)) continue;
      this.push.notifyCalendar(channel, 'exists', eventsResourceUri(calendar.id));
    }
  }

  /** Every live calendarList channel of the account gets an `exists` notification. */
  calendarListChanged(account: Account): void {
    for (const channel of this.liveChannels()) {
      if (channel.watches.kind === 'calendarList' && channel.ownerEmail === account.email) {
        this.push.notifyCalendar(channel, 'exists', CALENDAR_LIST_RESOURCE_URI);
      }
    }
  }

  private liveChannels(): Channel[] {
    const now = this.clock.now();
    return [...this.channels.values()].filter((c) => !c.stopped && c.expiration > now);
  }

  setQuota(quota: Partial<QuotaConfig>, exceededStatus?: 403 | 429): void {
    this.usage.quota = { ...this.usage.quota, ...quota };
    if (exceededStatus) this.options.quotaExceededStatus = exceededStatus;
  }
}

export const CALENDAR_LIST_RESOURCE_URI = 'https://www.googleapis.com/calendar/v3/users/me/calendarList?alt=json';

export function eventsResourceUri(calendarId: string): string {
  return `https://www.googleapis.com/calendar/v3/calendars/${encodeURIComponent(calendarId)}/events?alt=json`;
}
