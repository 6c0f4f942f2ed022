import { CredentialsUnavailableError, isGoogleError } from '../errors';
import type { Source } from '../model';
import { disconnectedByUser, storedChannels } from '../source/decisions';
import { mailboxKey, type ConnectDeps } from './connect';
import { closeCalendarChannel } from './watches';

/**
 * Which sources a user may see and end: their own, and every source on a mailbox they hold.
 * `disconnectSource` stops both watches, revokes the grant at Google when no other live
 * source on the mailbox still needs it, deletes the secrets and keeps the tasks.
 */

export const USER_DISCONNECT_REASON = 'Disconnected by the user';

/** The user's own sources and every source on the mailboxes they hold, theirs or another user's. */
export interface MailboxSource {
  sourceId: string;
  email: string;
  status: Source['status'];
  mine: boolean;
  createdAt: string;
}

/** The mailboxes a user holds now: those of their live sources (a disconnected one proves nothing). */
export function heldMailboxes(own: Source[]): string[] {
  return [...new Set(own.filter((s) => s.status !== 'disconnected').map((s) => mailboxKey(s.email)))];
}

export async function mailboxSources(deps: Pick<ConnectDeps, 'sources'>, userId: string): Promise<MailboxSource[]> {
  const own = await deps.sources.listByUser(userId);
  const found = (await Promise.all(heldMailboxes(own).map((email) => deps.sources.findByEmail(email)))).flat();
  return [...new Map([...own, ...found].map((s) => [s.id, s])).values()]
    .map((s) => ({ sourceId: s.id, email: s.email, status: s.status, mine: s.userId === userId, createdAt: s.createdAt.toISOString() }))
    .sort((a, b) => a.email.localeCompare(b.email) || a.createdAt.localeCompare(b.createdAt));
}

export type DisconnectResult = { ok: true; source: Source; revoked: boolean } | { ok: false };

/**
 * Disconnects a source for its owner, or for a user who holds a live source on the same
 * mailbox (they proved control of it to Google): so a mailbox's owner can end a source that
 * someone else holds on it. Stops what can be stopped, revokes the grant when no other live
 * source on the mailbox needs it, forgets the secrets, keeps the tasks.
 */
export async function disconnectSource(deps: ConnectDeps, input: { sourceId: string; userId: string }): Promise<DisconnectResult> {
  const source = await deps.sources.get(input.sourceId);
  if (!source) return { ok: false };
  const onMailbox = await deps.sources.findByEmail(source.email);
  const mailboxOwner = onMailbox.some((s) => s.userId === input.userId && s.status !== 'disconnected');
  if (source.userId !== input.userId && !mailboxOwner) return { ok: false };

  const sharers = onMailbox.filter((s) => s.id !== source.id && s.status !== 'disconnected');
  const live = source.status !== 'disconnected';
  // A Gmail watch belongs to the mailbox: another user's live source on it still needs it.
  if (live && source.watchExpiration !== null && sharers.length === 0) {
    await ignoringGoogleRefusal(async () => (await deps.watchDeps.google.gmail(source)).stop());
  }
  for (const channel of storedChannels(source)) {
    await ignoringGoogleRefusal(() => closeCalendarChannel(deps.watchDeps, source, channel));
    await deps.watchDeps.channels.delete(channel.id);
  }
  // Google revokes a grant per account and client: only when nobody else relies on it.
  const revoked = sharers.length === 0 && (await ignoringGoogleRefusal(async () => deps.oauth.revoke(await deps.tokens.load(source))));
  const now = deps.clock.now();
  // Disconnected (and a new credentials stamp, so no instance keeps using its decrypted copy)
  // before the secret goes: a run that reads the source from here on stops.
  const updated = await deps.sources.transition(source.id, now, disconnectedByUser(USER_DISCONNECT_REASON, now));
  await deps.secrets.delete(source.id);
  return { ok: true, source: updated, revoked };
}

/** A revoked grant or a missing token cannot stop anything: that is not a failure here. */
async function ignoringGoogleRefusal(stop: () => Promise<void>): Promise<boolean> {
  try {
    await stop();
    return true;
  } catch (error) {
    if (error instanceof CredentialsUnavailableError) return false;
    if (isGoogleError(error) && (error.kind === 'auth-revoked' || error.kind === 'not-found' || error.kind === 'bad-request')) return false;
    throw error;
  }
}
