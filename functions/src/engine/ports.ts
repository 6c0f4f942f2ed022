import type { Decision } from './lease';
import type { Channel, IngestionEvent, NewChannel, Source, SourceData, Task } from './model';
import type { SealedToken } from '../contracts/sealed-token';

/**
 * What the engine needs from the outside world. `store/` and `google/` implement these; the
 * engine imports neither Firestore nor Google.
 */

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export type LogFields = Record<string, unknown>;
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export interface SourceStore {
  get(id: string): Promise<Source | null>;
  create(id: string, data: SourceData): Promise<void>;
  findByEmail(email: string): Promise<Source[]>;
  update(id: string, now: Date, change: (source: Source) => Partial<SourceData>): Promise<Source>;
  /** Applies an engine decision (engine/lease.ts) atomically (a write conditional on the version decided on), writing only the fields it changed. */
  transition<T>(id: string, now: Date, decide: (source: Source) => Decision<T>): Promise<T>;
  extendLease(id: string, owner: string, now: Date, leaseMs: number): Promise<void>;
  markCalendarPending(id: string, now: Date): Promise<{ needsRun: boolean }>;
  /** Moves the Gmail cursor forward (holder only) and extends the lease in the same write. */
  advanceHistoryId(id: string, owner: string, historyId: string, now: Date, leaseMs: number): Promise<boolean>;
  setCalendarSyncToken(id: string, owner: string, token: string | null, now: Date): Promise<void>;
}

export interface StatusUpdate {
  sourceId: string;
  origin: Task['origin'];
  externalId: string;
  externalUpdatedAt?: Date;
}

export interface TaskStore {
  upsert(userId: string, tasks: readonly Task[]): Promise<{ written: number; stale: number }>;
  /**
   * Tasks for items that are new to us (messages Gmail reports added): created without
   * reading them first; if any already exists (a pass done again), all go through `upsert`.
   */
  insertNew(userId: string, tasks: readonly Task[]): Promise<{ written: number; stale: number }>;
  /**
   * Sets the status of tasks that exist; never creates one. Returns how many changed. An
   * update's `externalUpdatedAt` (the change's time at Google) orders it; without one, `at`.
   */
  setStatusIfExists(
    userId: string,
    updates: readonly StatusUpdate[],
    status: Task['status'],
    at: Date,
  ): Promise<number>;
  listOpen(userId: string, sourceId: string, origin: Task['origin']): Promise<Task[]>;
}

export interface EventLog {
  record(event: Omit<IngestionEvent, 'expireAt'>): Promise<IngestionEvent>;
}

export interface ChannelStore {
  put(channelId: string, channel: NewChannel): Promise<void>;
  get(channelId: string): Promise<Channel | null>;
  /**
   * Remembers `messageNumber` as seen (in its slot), with no read: concurrent notifications
   * of a burst do not contend on the document.
   */
  recordMessageNumber(channelId: string, messageNumber: number): Promise<void>;
  /** Confirms the channel (its `sync`); false when it was already confirmed. */
  confirm(channelId: string, messageNumber: number, now: Date): Promise<boolean>;
  delete(channelId: string): Promise<void>;
}

export interface GmailHistoryRecord {
  id: string;
  messagesAdded: string[];
  messagesDeleted: string[];
  labelsAdded: { messageId: string; labelIds: string[] }[];
  labelsRemoved: { messageId: string; labelIds: string[] }[];
}

export interface GmailMessageMetadata {
  id: string;
  labelIds: string[];
  subject: string | null;
  from: string | null;
  date: string | null;
  internalDate: Date | null;
}

/** What history.list is asked for: only the records the task rule needs. */
export interface GmailHistoryFilter {
  labelId?: string;
  historyTypes?: readonly ('messageAdded' | 'messageDeleted' | 'labelAdded' | 'labelRemoved')[];
}

export interface GmailApi {
  getProfile(): Promise<{ emailAddress: string; historyId: string }>;
  listHistory(startHistoryId: string, pageToken: string | null, maxResults: number, filter?: GmailHistoryFilter): Promise<{
    records: GmailHistoryRecord[];
    historyId: string;
    nextPageToken: string | null;
  }>;
  listMessageIds(labelId: string, pageToken: string | null, maxResults: number): Promise<{ ids: string[]; nextPageToken: string | null }>;
  /** Metadata of several messages (batched by the adapter); a message that no longer exists maps to `null`. */
  getMessagesMetadata(ids: readonly string[]): Promise<Map<string, GmailMessageMetadata | null>>;
  watch(topicName: string, labelIds: string[]): Promise<{ historyId: string; expiration: Date }>;
  stop(): Promise<void>;
}

export type EventTime = { dateTime?: string | null; date?: string | null };

export interface CalendarEvent {
  id: string;
  status: 'confirmed' | 'tentative' | 'cancelled';
  summary: string | null;
  start: Date | null;
  htmlLink: string | null;
  /** Google's clock: the only one calendar writes are ordered by. */
  updated: Date | null;
  /** The iCalendar sequence; orders changes whose `updated` is equal. */
  sequence: number;
  /** The account's own attendee entry declined the invitation. */
  declinedBySelf: boolean;
}

export type CalendarListRequest =
  | { syncToken: string; pageToken: string | null; maxResults: number }
  | { timeMin: Date; timeMax?: Date; pageToken: string | null; maxResults: number }
  /** Events modified since then, deleted ones included (the completeness audit). */
  | { updatedMin: Date; pageToken: string | null; maxResults: number };

export interface CalendarApi {
  /** `updated` is the calendar's last modification time (Google's clock). */
  listEvents(request: CalendarListRequest): Promise<{ events: CalendarEvent[]; nextPageToken: string | null; nextSyncToken: string | null; updated: Date | null }>;
  /** One event, cancelled ones included; `null` when Google no longer knows it (404/410). */
  getEvent(id: string): Promise<CalendarEvent | null>;
  watch(channel: { id: string; address: string; token: string; ttlSeconds: number }): Promise<{ resourceId: string; expiration: Date }>;
  stopChannel(channelId: string, resourceId: string): Promise<void>;
}

/** Google access for one source: its credentials and its share of the rate limit. */
export interface GoogleAccess {
  gmail(source: Source): Promise<GmailApi>;
  calendar(source: Source): Promise<CalendarApi>;
  /** The Gmail client this instance already holds for these credentials, or `null`; never reads. */
  warmGmail(sourceId: string, credentialsAt: Date): GmailApi | null;
}

/**
 * A request on the `sync-requests` topic: run what is pending for the source, and check
 * Calendar even if nothing announced a change when `calendar` is set (polls, re-registration).
 */
export interface SyncRequest {
  sourceId: string;
  trigger: 'push' | 'poll' | 'renewal' | 'manual';
  /** Check Calendar / Gmail even if nothing announced a change. */
  calendar: boolean;
  gmail?: boolean;
  /** Renew the source's watches instead of syncing. */
  renew?: boolean;
  /** Run the completeness audit instead of syncing (fanned out by auditCompleteness). */
  audit?: boolean;
  pageSize?: number;
}

/** The indexed queries the scheduled jobs page through. Disconnected sources never match. */
export interface SourceQueries {
  /** Sources whose Gmail watch or Calendar channel expires before `cutoff`, or has none. */
  watchesExpiringBefore(cutoff: Date): AsyncIterable<Source>;
  /** Sources not checked (synced or polled) since `cutoff`. */
  notCheckedSince(cutoff: Date): AsyncIterable<Source>;
  /** Sources whose lease expired before `now` (a crashed holder). */
  leaseExpiredBefore(now: Date): AsyncIterable<Source>;
}

export interface SyncRequestPublisher {
  publish(request: SyncRequest): Promise<void>;
}

export interface SecretStore {
  addChannelTokenHash(sourceId: string, channelId: string, hash: string): Promise<void>;
  channelTokenHash(sourceId: string, channelId: string): Promise<string | null>;
  removeChannelTokenHash(sourceId: string, channelId: string): Promise<void>;
}

/** A connect flow in progress: who started it, in which browser, with which PKCE verifier. */
export interface ConnectState {
  userId: string;
  loginHint: string | null;
  /** SHA-256 of the nonce in the starting browser's cookie. */
  browserNonceHash: string;
  codeVerifier: string;
  createdAt: Date;
  expireAt: Date;
}

/** A grant the callback received, waiting for the host app to confirm it for its signed-in user. */
export interface StagedGrant {
  userId: string;
  email: string;
  sealedToken: SealedToken;
  createdAt: Date;
  expireAt: Date;
}

export interface ConnectStateStore {
  save(state: string, entry: ConnectState): Promise<void>;
  /**
   * Deletes the state and returns it, or null when unknown, already used or expired; a state
   * that `accept` refuses is left as it was (and null returned).
   */
  consume(state: string, now: Date, accept?: (entry: ConnectState) => boolean): Promise<ConnectState | null>;
  stage(linkId: string, grant: StagedGrant): Promise<void>;
  /** The staged grant when it belongs to `userId` and is still valid; `consume` also deletes it. */
  staged(linkId: string, userId: string, now: Date, consume: boolean): Promise<StagedGrant | null>;
}

/** Google's OAuth consent, code exchange (PKCE) and revocation, for the connect flow. */
export interface OAuthFlow {
  consentUrl(request: { state: string; loginHint: string | null; codeChallenge: string }): string;
  /** Exchanges a code; `null` when Google refuses it (invalid, reused, expired, wrong verifier). */
  exchangeCode(code: string, codeVerifier: string): Promise<{ refreshToken: string | null; accessToken: string } | null>;
  /** The address of the account an access token belongs to. */
  accountEmail(accessToken: string): Promise<string>;
  /** Ends the grant at Google (all tokens of that account for our client). */
  revoke(token: string): Promise<void>;
}

/** Refresh tokens: sealing needs only encryption; loading (for revocation) needs decryption. */
export interface RefreshTokenStore {
  seal(owner: { sourceId: string; userId: string }, refreshToken: string): Promise<SealedToken>;
  storeSealed(sourceId: string, sealed: SealedToken): Promise<void>;
  load(source: { id: string; userId: string }): Promise<string>;
}

export interface SecretDeletion {
  delete(sourceId: string): Promise<void>;
}
