import { createHash, randomBytes } from 'node:crypto';
import { isGoogleError } from './errors';
import { NO_PENDING, type Source, type SourceData } from './model';
import type { Clock, ConnectStateStore, OAuthFlow, RefreshTokenStore, SecretDeletion, SourceStore } from './ports';
import { withStatus } from './status';
import { closeCalendarChannel, registerWatches, type WatchDeps } from './watches';

/**
 * The connect flow. `start` binds a single-use, expiring state to the user; `finish` trusts
 * nothing but that state, exchanges the code, and creates or updates the one source per
 * user + Google account; `disconnect` stops both watches, deletes the secrets and keeps the
 * tasks.
 */

export interface ConnectDeps {
  states: ConnectStateStore;
  oauth: OAuthFlow;
  sources: SourceStore & { create(id: string, data: SourceData): Promise<void> };
  tokens: RefreshTokenStore;
  secrets: SecretDeletion;
  watchDeps: WatchDeps;
  clock: Clock;
  stateTtlMs: number;
}

/** One source per user and Google account, whatever the order of connects. */
export function sourceIdFor(userId: string, email: string): string {
  return `src_${createHash('sha256').update(`${userId}\u0000${email.toLowerCase()}`).digest('hex').slice(0, 24)}`;
}

export async function startConnect(deps: ConnectDeps, userId: string, loginHint: string | null): Promise<string> {
  const state = randomBytes(32).toString('base64url');
  const now = deps.clock.now();
  await deps.states.save(state, { userId, loginHint, createdAt: now, expiresAt: new Date(now.getTime() + deps.stateTtlMs) });
  return deps.oauth.consentUrl(state, loginHint);
}

export type FinishResult =
  | { ok: true; sourceId: string; email: string; created: boolean }
  | { ok: false; reason: 'invalid-state' | 'code-refused' | 'no-refresh-token' };

export async function finishConnect(deps: ConnectDeps, input: { state: string; code: string }): Promise<FinishResult> {
  const bound = await deps.states.consume(input.state, deps.clock.now());
  if (!bound) return { ok: false, reason: 'invalid-state' };
  const exchanged = await deps.oauth.exchangeCode(input.code);
  if (!exchanged) return { ok: false, reason: 'code-refused' };
  if (!exchanged.refreshToken) return { ok: false, reason: 'no-refresh-token' };
  const email = await deps.oauth.accountEmail(exchanged.accessToken);
  const sourceId = sourceIdFor(bound.userId, email);
  const now = deps.clock.now();

  const existing = await deps.sources.get(sourceId);
  if (existing) {
    await deps.sources.update(sourceId, now, (s) =>
      withStatus({ ...s, disconnectReason: null, consecutiveErrors: 0, renewalError: null }, now, deps.watchDeps.statusSettings),
    );
  } else {
    await deps.sources.create(sourceId, newSource(bound.userId, email, now));
  }
  await deps.tokens.store(sourceId, exchanged.refreshToken);
  await registerWatches(deps.watchDeps, sourceId);
  return { ok: true, sourceId, email, created: !existing };
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
    calendarChannelId: null,
    calendarResourceId: null,
    calendarChannelExpiration: null,
    calendarSyncToken: null,
    pending: NO_PENDING,
    lease: null,
    createdAt: now,
    updatedAt: now,
  };
  return withStatus(blank, now);
}

export const USER_DISCONNECT_REASON = 'Disconnected by the user';

/** Stops what can be stopped (a revoked grant cannot stop anything), then forgets the secrets. */
export async function disconnectSource(deps: ConnectDeps, sourceId: string): Promise<Source | null> {
  const source = await deps.sources.get(sourceId);
  if (!source) return null;
  const stopped = { gmail: false, calendar: false };
  // A Gmail watch belongs to the mailbox: another user's live source on it still needs it.
  const sharers = (await deps.sources.findByEmail(source.email)).filter((s) => s.id !== sourceId && s.status !== 'disconnected');
  if (source.status !== 'disconnected' && source.watchExpiration !== null && sharers.length === 0) {
    stopped.gmail = await ignoringGoogleRefusal(async () => (await deps.watchDeps.google.gmail(source)).stop());
  }
  if (source.calendarChannelId !== null && source.calendarResourceId !== null) {
    const channel = { id: source.calendarChannelId, resourceId: source.calendarResourceId };
    stopped.calendar = await ignoringGoogleRefusal(() => closeCalendarChannel(deps.watchDeps, source, channel));
    await deps.watchDeps.channels.delete(channel.id);
  }
  await deps.secrets.delete(sourceId);
  const now = deps.clock.now();
  return deps.sources.update(sourceId, now, (s) =>
    withStatus(
      {
        ...s,
        disconnectReason: USER_DISCONNECT_REASON,
        watchId: null,
        watchExpiration: null,
        calendarChannelId: null,
        calendarResourceId: null,
        calendarChannelExpiration: null,
        pending: NO_PENDING,
      },
      now,
      deps.watchDeps.statusSettings,
    ),
  );
}

async function ignoringGoogleRefusal(stop: () => Promise<void>): Promise<boolean> {
  try {
    await stop();
    return true;
  } catch (error) {
    if (isGoogleError(error) && (error.kind === 'auth-revoked' || error.kind === 'not-found')) return false;
    throw error;
  }
}
