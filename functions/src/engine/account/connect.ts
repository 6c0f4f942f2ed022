import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DEFAULT_EVENT_RULES, NO_PENDING, type Source, type SourceData } from '../model';
import type { Clock } from '../ports';
import type { ConnectStateStore, OAuthFlow, RefreshTokenStore, SecretDeletion } from './ports';
import type { SourceStore } from '../source/ports';
import type { SyncRequestPublisher } from '../jobs/ports';
import { reconnected } from '../source/decisions';
import { withStatus } from '../source/status';
import { registerWatches, type WatchDeps } from './watches';

/**
 * The connect flow, bound to the browser that started it and to a signed-in user:
 * 1. `startConnect` (the user's browser, identity verified): a single-use state, a nonce for
 *    an HttpOnly cookie and a PKCE verifier, stored by hash / server-side, expiring.
 * 2. `finishConnect` (Google's redirect, same browser): the state, the cookie's nonce and the
 *    PKCE verifier must all match; the code is exchanged; a `loginHint` must name the account
 *    that consented. The grant is only STAGED (sealed: this step needs encryption only).
 * 3. `confirmConnect` (the host app, for its signed-in user, after showing the address):
 *    creates or updates the one source per user + Google account and registers its watches;
 *    a reconnect resumes both cursors and catches up at once.
 * Disconnecting and listing a mailbox's sources: `disconnect.ts`.
 */

export interface ConnectDeps {
  states: ConnectStateStore;
  oauth: OAuthFlow;
  sources: SourceStore & { listByUser(userId: string): Promise<Source[]>; createIfAbsent(id: string, data: SourceData): Promise<boolean> };
  tokens: RefreshTokenStore;
  secrets: SecretDeletion;
  watchDeps: WatchDeps;
  publisher: SyncRequestPublisher;
  clock: Clock;
  stateTtlMs: number;
}

/** Google addresses compare without case: sources store them so, and ids are derived so. */
export function mailboxKey(email: string): string {
  return email.toLowerCase();
}

/** One source per user and Google account, whatever the order of connects. */
export function sourceIdFor(userId: string, email: string): string {
  return `src_${createHash('sha256').update(`${userId}\u0000${mailboxKey(email)}`).digest('hex').slice(0, 24)}`;
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();
const random = (bytes: number) => randomBytes(bytes).toString('base64url');

export async function startConnect(deps: Pick<ConnectDeps, 'states' | 'oauth' | 'clock' | 'stateTtlMs'>, userId: string, loginHint: string | null) {
  const state = random(32);
  const browserNonce = random(32);
  // PKCE (RFC 7636): 43 characters of verifier, its S256 challenge goes to Google.
  const codeVerifier = random(48);
  const now = deps.clock.now();
  await deps.states.save(state, {
    userId,
    loginHint,
    browserNonceHash: sha256(browserNonce).toString('hex'),
    codeVerifier,
    createdAt: now,
    expireAt: new Date(now.getTime() + deps.stateTtlMs),
  });
  const consentUrl = deps.oauth.consentUrl({ state, loginHint, codeChallenge: sha256(codeVerifier).toString('base64url') });
  return { consentUrl, browserNonce, flow: flowKey(state) };
}

/**
 * Names a flow without revealing its state: each flow's cookie carries it, so a second start
 * in the same browser leaves the first flow's cookie alone.
 */
export function flowKey(state: string): string {
  return sha256(`flow:${state}`).toString('hex').slice(0, 16);
}

export type FinishResult =
  | { ok: true; linkId: string; email: string }
  | { ok: false; reason: 'invalid-state' | 'other-browser' | 'code-refused' | 'no-refresh-token' | 'account-mismatch' };

function sameNonce(nonce: string | null, storedHash: string): boolean {
  if (nonce === null) return false;
  const stored = Buffer.from(storedHash, 'hex');
  const presented = sha256(nonce);
  return stored.length === presented.length && timingSafeEqual(stored, presented);
}

/**
 * The user declined at Google: the state is spent and nothing is stored, but only from the
 * browser that started (anyone else's decline would end a flow that is not theirs).
 */
export async function declineConnect(deps: Pick<ConnectDeps, 'states' | 'clock'>, input: { state: string; browserNonce: string | null }): Promise<boolean> {
  return (await deps.states.consume(input.state, deps.clock.now(), (bound) => sameNonce(input.browserNonce, bound.browserNonceHash))) !== null;
}

/** The callback: needs Firestore, the OAuth client and encryption, never decryption. */
export async function finishConnect(
  deps: Pick<ConnectDeps, 'states' | 'oauth' | 'tokens' | 'clock' | 'stateTtlMs'>,
  input: { state: string; code: string; browserNonce: string | null },
): Promise<FinishResult> {
  // Consumed whatever follows: a state is good for one attempt, from one browser.
  const bound = await deps.states.consume(input.state, deps.clock.now());
  if (!bound) return { ok: false, reason: 'invalid-state' };
  if (!sameNonce(input.browserNonce, bound.browserNonceHash)) return { ok: false, reason: 'other-browser' };
  const exchanged = await deps.oauth.exchangeCode(input.code, bound.codeVerifier);
  if (!exchanged) return { ok: false, reason: 'code-refused' };
  if (!exchanged.refreshToken) return { ok: false, reason: 'no-refresh-token' };
  const email = await deps.oauth.accountEmail(exchanged.accessToken);
  // Not revoked: revocation would end every grant of that account, including live sources.
  if (bound.loginHint !== null && bound.loginHint.toLowerCase() !== email.toLowerCase()) return { ok: false, reason: 'account-mismatch' };
  const owner = { sourceId: sourceIdFor(bound.userId, email), userId: bound.userId };
  const sealedToken = await deps.tokens.seal(owner, exchanged.refreshToken);
  const linkId = random(24);
  const now = deps.clock.now();
  await deps.states.stage(linkId, { userId: bound.userId, email, sealedToken, createdAt: now, expireAt: new Date(now.getTime() + deps.stateTtlMs) });
  return { ok: true, linkId, email };
}

/** What the host app shows before its user confirms: the Google address being linked. */
export async function stagedAddress(deps: Pick<ConnectDeps, 'states' | 'clock'>, userId: string, linkId: string): Promise<string | null> {
  return (await deps.states.staged(linkId, userId, deps.clock.now(), false))?.email ?? null;
}

export type ConfirmResult = { ok: true; source: Source; created: boolean } | { ok: false };

export async function confirmConnect(deps: ConnectDeps, userId: string, linkId: string): Promise<ConfirmResult> {
  const grant = await deps.states.staged(linkId, userId, deps.clock.now(), true);
  if (!grant) return { ok: false };
  const email = mailboxKey(grant.email);
  const sourceId = sourceIdFor(userId, email);
  const now = deps.clock.now();
  // Two confirms racing for one user and mailbox: the one that does not create reconnects.
  const created = (await deps.sources.get(sourceId)) === null && (await deps.sources.createIfAbsent(sourceId, newSource(userId, email, now)));
  if (created) {
    await deps.tokens.storeSealed(sourceId, grant.sealedToken);
  } else {
    // The new token first, then the stamp that tells instances their cached copy is stale.
    await deps.tokens.storeSealed(sourceId, grant.sealedToken);
    await deps.sources.transition(sourceId, now, reconnected(email, now));
  }
  const source = await registerWatches(deps.watchDeps, sourceId);
  if (!created) {
    // A reconnect keeps both cursors (history id, sync token): catch up on Gmail and
    // Calendar now, not at the next fallback poll.
    await deps.publisher.publish({ kind: 'sync', sourceId, trigger: 'manual', calendar: true, gmail: true });
  }
  return { ok: true, source, created };
}

/** A source as first connected, before its watches exist. */
export function newSource(userId: string, email: string, now: Date): SourceData {
  const blank: SourceData = {
    userId,
    email,
    status: 'degraded',
    statusReason: null,
    polling: false,
    lastSyncAt: null,
    lastPushAt: null,
    lastCheckAt: null,
    consecutiveErrors: 0,
    disconnectReason: null,
    missedPushAt: null,
    renewalError: null,
    watchId: null,
    watchExpiration: null,
    historyId: null,
    gmailResync: null,
    gmailRule: null,
    gmailRuleApply: null,
    calendarChannelId: null,
    calendarResourceId: null,
    calendarChannelExpiration: null,
    calendarSyncToken: null,
    calendarHorizon: null,
    calendarCheckedAt: null,
    calendarsCheckedBy: null,
    calendars: {},
    calendarListChannel: null,
    otherCalendarsRenewBy: null,
    calendarSelection: 'primary',
    eventRules: DEFAULT_EVENT_RULES,
    // Its token is stored right after the source: no instance holds a copy from before.
    credentialsAt: now,
    pending: NO_PENDING,
    lease: null,
    lastAuditAt: null,
    auditRepairStreak: 0,
    statusVersion: 0,
    createdAt: now,
    updatedAt: now,
  };
  return withStatus(blank, now);
}
