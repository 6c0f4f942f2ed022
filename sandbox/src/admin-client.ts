import type { EventType, ResponseStatus } from './calendar-data';
import type { FaultsInput } from './faults';
import type { LagClear, LagRule, LagRuleInput } from './lag';

export type { EventType, ResponseStatus };

/**
 * A typed client for the admin API (see sandbox/README.md), shared by tests, `npm start`
 * and the benchmark. It speaks HTTP only, so it works against a sandbox in another process.
 */

export interface CreatedAccount {
  email: string;
  refreshToken: string;
  clientId: string;
  clientSecret: string;
}

export type EventTimeInput = { dateTime: string } | { date: string };
export interface EventInput {
  summary: string;
  start: EventTimeInput;
  end: EventTimeInput;
  description?: string;
  /** `RRULE:FREQ=DAILY|WEEKLY` with INTERVAL, COUNT, UNTIL. */
  recurrence?: string[];
  attendees?: { email: string; responseStatus?: ResponseStatus }[];
  /** `default` unless given: birthday, focusTime, outOfOffice, workingLocation, fromGmail. */
  eventType?: EventType;
  /** The calendar's default reminders unless given. */
  reminders?: { useDefault: true } | { useDefault: false; overrides: { method: 'email' | 'popup'; minutes: number }[] };
  /** Another calendar the account owns or may write; its primary one by default. */
  calendarId?: string;
}

export type AccessRole = 'owner' | 'writer' | 'reader' | 'freeBusyReader';

export type MailCategory = 'personal' | 'social' | 'promotions' | 'updates' | 'forums';
export interface MailHeader {
  name: string;
  value: string;
}
export interface IncomingMail {
  subject: string;
  from?: string;
  /** Default `INBOX`, `UNREAD`. */
  labelIds?: string[];
  threadId?: string;
  /** Gmail's inbox category: adds `CATEGORY_<CATEGORY>`. */
  category?: MailCategory;
  /** More headers, returned by `format=metadata`, e.g. `List-Unsubscribe` or `Precedence`. */
  headers?: MailHeader[];
}
export interface DeliveredMail {
  id: string;
  threadId: string;
  historyId: string;
  /** A notification was published; else `notifiableAt` (epoch ms) is when one next could be. */
  announced: boolean;
  notifiableAt: number | null;
}
export interface UserLabel {
  id: string;
  name: string;
  messageListVisibility: string;
  labelListVisibility: string;
}

export interface SandboxStats {
  calls: Record<string, Record<string, number>>;
  pushes: Record<string, number>;
  injected: Record<string, number>;
  /** Changes whose visibility read-after-push lag delayed, per API. */
  lagged: { gmail: number; calendar: number };
  /** Cloud Tasks: created, duplicates (ALREADY_EXISTS), dispatched, retried, succeeded, abandoned. */
  tasks: Record<string, number>;
  /** Pushes (Gmail publishes, Calendar notifications and their retries) and Cloud Tasks not yet done. */
  pending: { pushes: number; tasks: number };
  /** The most Gmail batch parts answered at one moment since the last reset. */
  batchPartsPeak: number;
  seed: number;
}

export interface AccountTruth {
  email: string;
  historyId: string;
  gmailWatch: { topicName: string; expiration: string; labelIds: string[]; behavior: 'include' | 'exclude' } | null;
  labels: UserLabel[];
  messages: { id: string; threadId: string; subject: string; from: string; labelIds: string[]; headers: MailHeader[]; deleted: boolean }[];
  /** The account's calendar list. */
  calendars: { id: string; accessRole: AccessRole; primary: boolean }[];
  /** Its primary calendar's events. */
  events: {
    id: string;
    eventType: EventType;
    summary: string;
    status: 'confirmed' | 'cancelled';
    start: EventTimeInput;
    updated: string;
    recurrence: string[] | null;
    attendees: { email: string; responseStatus: ResponseStatus }[];
  }[];
}

export class SandboxAdmin {
  constructor(readonly baseUrl: string) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}/_admin${path}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`sandbox admin ${method} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private accountPath(email: string): string {
    return `/accounts/${encodeURIComponent(email)}`;
  }

  reset(seed?: number) {
    return this.call<void>('POST', '/reset', seed === undefined ? {} : { seed });
  }
  createAccount(email: string) {
    return this.call<CreatedAccount>('POST', '/accounts', { email });
  }
  account(email: string) {
    return this.call<AccountTruth>('GET', this.accountPath(email));
  }
  deliverMail(email: string, message: IncomingMail) {
    return this.call<DeliveredMail>('POST', `${this.accountPath(email)}/messages`, message);
  }
  /** Mail the account sends itself: label SENT, From the account; also INBOX, UNREAD when `to` names the account. */
  sendMail(email: string, message: { to: string; subject: string; threadId?: string; headers?: MailHeader[] }) {
    return this.call<DeliveredMail>('POST', `${this.accountPath(email)}/messages/sent`, message);
  }
  /** A user label (`Label_<n>`); 409 when the name is taken. */
  createLabel(email: string, name: string) {
    return this.call<UserLabel>('POST', `${this.accountPath(email)}/labels`, { name });
  }
  /** Deletes a user label; every message carrying it loses it (one labelRemoved record each). */
  deleteLabel(email: string, id: string) {
    return this.call<{ historyId: string }>('DELETE', `${this.accountPath(email)}/labels/${encodeURIComponent(id)}`);
  }
  archiveMail(email: string, id: string) {
    return this.call<{ historyId: string }>('POST', `${this.accountPath(email)}/messages/${id}/archive`);
  }
  labelMail(email: string, id: string, change: { add?: string[]; remove?: string[] }) {
    return this.call<{ historyId: string }>('POST', `${this.accountPath(email)}/messages/${id}/labels`, change);
  }
  deleteMail(email: string, id: string) {
    return this.call<{ historyId: string }>('DELETE', `${this.accountPath(email)}/messages/${id}`);
  }
  expireHistory(email: string) {
    return this.call<void>('POST', `${this.accountPath(email)}/history/expire`);
  }
  /** The account's events path, on another of its calendars when `calendarId` is given. */
  private eventsPath(email: string, suffix: string, calendarId: string | undefined): string {
    return `${this.accountPath(email)}/${suffix}${calendarId === undefined ? '' : `?calendarId=${encodeURIComponent(calendarId)}`}`;
  }
  createEvent(email: string, event: EventInput) {
    const { calendarId, ...body } = event;
    return this.call<{ id: string; updated: string }>('POST', this.eventsPath(email, 'events', calendarId), body);
  }
  updateEvent(email: string, id: string, patch: { summary?: string; start?: EventTimeInput; end?: EventTimeInput }, calendarId?: string) {
    return this.call<{ id: string; updated: string }>('PATCH', this.eventsPath(email, `events/${id}`, calendarId), patch);
  }
  /** An event, a series, or one instance of a series (by its instance id). */
  cancelEvent(email: string, id: string, calendarId?: string) {
    return this.call<void>('DELETE', this.eventsPath(email, `events/${id}`, calendarId));
  }
  restoreEvent(email: string, id: string, calendarId?: string) {
    return this.call<{ id: string; updated: string }>('POST', this.eventsPath(email, `events/${id}/restore`, calendarId));
  }
  /** An attendee's answer; the account's own when `attendee` is omitted. */
  respondToEvent(email: string, id: string, responseStatus: ResponseStatus, attendee?: string, calendarId?: string) {
    return this.call<{ id: string; updated: string }>('POST', this.eventsPath(email, `events/${id}/response`, calendarId), { responseStatus, ...(attendee && { email: attendee }) });
  }
  invalidateSyncTokens(email: string, calendarId?: string) {
    return this.call<void>('POST', this.eventsPath(email, 'calendar/invalidate-sync-tokens', calendarId));
  }
  /** A secondary calendar the account owns (id `c_…@group.calendar.google.com`). */
  createCalendar(email: string, summary: string) {
    return this.call<{ id: string; summary: string }>('POST', `${this.accountPath(email)}/calendars`, { summary });
  }
  renameCalendar(calendarId: string, summary: string) {
    return this.call<{ id: string; summary: string }>('PATCH', `/calendars/${encodeURIComponent(calendarId)}`, { summary });
  }
  /** Gives another account a role on the calendar, or changes it; the calendar joins that account's list. */
  shareCalendar(calendarId: string, email: string, role: AccessRole) {
    return this.call<{ id: string; email: string; role: AccessRole }>('PUT', `/calendars/${encodeURIComponent(calendarId)}/acl/${encodeURIComponent(email)}`, { role });
  }
  /** Takes the account's access away; the calendar leaves its list. */
  unshareCalendar(calendarId: string, email: string) {
    return this.call<void>('DELETE', `/calendars/${encodeURIComponent(calendarId)}/acl/${encodeURIComponent(email)}`);
  }
  refreshTokens(email: string) {
    return this.call<{ refreshTokens: string[] }>('GET', `${this.accountPath(email)}/refresh-tokens`);
  }
  revoke(email: string) {
    return this.call<void>('POST', `${this.accountPath(email)}/revoke`);
  }
  channels() {
    return this.call<{ channels: { id: string; resourceId: string; address: string; email: string; expiration: string; token: string | null }[] }>('GET', '/channels');
  }
  advanceClock(ms: number) {
    return this.call<{ now: string }>('POST', '/clock', { advanceMs: ms });
  }
  setFaults(faults: FaultsInput) {
    return this.call<unknown>('PUT', '/faults', faults);
  }
  /**
   * Read-after-push lag for one account (or, without `account`, every account without a rule of
   * its own) and one API: changes made from now on become readable `fixedMs` (or a seeded random
   * 0..`maxMs`) later on the sandbox clock; pushes still go out at once.
   */
  setLag(rule: LagRuleInput) {
    return this.call<{ rules: LagRule[] }>('PUT', '/lag', rule);
  }
  /** Removes the lag rules matching the filter; all of them without one. */
  clearLag(filter: LagClear = {}) {
    return this.call<{ rules: LagRule[] }>('DELETE', '/lag', filter);
  }
  lagRules() {
    return this.call<{ rules: LagRule[] }>('GET', '/lag');
  }
  setQuota(quota: { gmailUnitsPerMinute?: number; calendarRequestsPerMinute?: number; exceededStatus?: 403 | 429 }) {
    return this.call<void>('PUT', '/quota', quota);
  }
  drainPushes() {
    return this.call<void>('POST', '/pushes/drain');
  }
  stats() {
    return this.call<SandboxStats>('GET', '/stats');
  }
  resetStats() {
    return this.call<void>('POST', '/stats/reset');
  }
}
