import { LeaseLostError } from '../errors';
import { isNewerHistoryId } from '../gmail/history-id';
import { calendarState, calendarStateChange, syncedCalendars, withOtherCalendars } from '../calendar/state';
import { NO_PENDING, PRIMARY_CALENDAR, type CalendarListChannel, type GmailResync, type Source, type SourceData } from '../model';
import { changedFields, holds, leaseFor, leaseLive, needsPushStamp, type Decision } from './lease';
import type { StatusDerivation } from './status';

/**
 * Every write to a source outside the run's lease steps, as a named pure decision: given the
 * source as stored, the fields to write and what the caller learns. The store applies it on
 * condition that the document did not change meanwhile (else it decides again), and
 * re-derives the status from the result, so no decision derives status by hand.
 */

/** A decision on a source; `derive` is the store's status derivation (settings and clock). */
export type SourceDecision<T> = (source: Source, derive: StatusDerivation) => Decision<T>;

/** The fields `change` sets that differ from the source's; the source as it will be. */
export function writing(source: Source, change: Partial<SourceData>, derive: StatusDerivation): Decision<Source> {
  const next = derive(source, { ...source, ...change });
  return { patch: changedFields(source, next), result: next };
}

/** A Gmail watch was registered; its history id becomes the cursor only when there is none. */
export function watchRegistered(watch: { id: string; historyId: string; expiration: Date }, now: Date): SourceDecision<Source> {
  // A successful watch call is a successful check of the account.
  return (source, derive) => writing(source, { watchId: watch.id, watchExpiration: watch.expiration, historyId: source.historyId ?? watch.historyId, lastCheckAt: now }, derive);
}

export interface ChannelRef {
  id: string;
  resourceId: string;
}

/**
 * A Calendar channel was opened. The channel it replaces is the one stored when this one is
 * stored, decided on the version the write is conditional on: a read from before events.watch
 * would miss a channel a concurrent renewal stored meanwhile, leaving it live and never stopped.
 */
export function channelOpened(calendarId: string, channel: ChannelRef & { expiration: Date }): SourceDecision<{ source: Source; replaced: ChannelRef | null }> {
  return (source, derive) => {
    const replaced = storedChannel(source, calendarId);
    const change = calendarStateChange(source, calendarId, { channelId: channel.id, resourceId: channel.resourceId, channelExpiration: channel.expiration });
    const { patch, result } = writing(source, change, derive);
    return { patch, result: { source: result, replaced } };
  };
}

/** Every stored channel: each calendar's, the primary one's whether or not it is still synced, and the calendar list's. */
export function storedChannels(source: Source): ChannelRef[] {
  const list = source.calendarListChannel;
  const calendars = [PRIMARY_CALENDAR, ...Object.keys(source.calendars)].flatMap((calendarId) => storedChannel(source, calendarId) ?? []);
  return list === null ? calendars : [...calendars, { id: list.id, resourceId: list.resourceId }];
}

/** The calendar list's channel was opened; returns the one it replaced (decided on the version written, as `channelOpened`). */
export function calendarListChannelOpened(channel: CalendarListChannel): SourceDecision<{ source: Source; replaced: ChannelRef | null }> {
  return (source, derive) => {
    const stored = source.calendarListChannel;
    const { patch, result } = writing(source, { calendarListChannel: channel, ...withOtherCalendars(source.calendars, { ...source, calendarListChannel: channel }) }, derive);
    return { patch, result: { source: result, replaced: stored && { id: stored.id, resourceId: stored.resourceId } } };
  };
}

/** The calendar list's channel `channelId` was stopped: forgotten, unless another has replaced it meanwhile. */
export function calendarListChannelStopped(channelId: string): SourceDecision<Source> {
  return (source, derive) => {
    if (source.calendarListChannel?.id !== channelId) return writing(source, {}, derive);
    return writing(source, { calendarListChannel: null, ...withOtherCalendars(source.calendars, { ...source, calendarListChannel: null }) }, derive);
  };
}

/** The channel stored for a calendar, if any. */
export function storedChannel(source: Source, calendarId: string): ChannelRef | null {
  const { channelId, resourceId } = calendarState(source, calendarId);
  return channelId !== null && resourceId !== null ? { id: channelId, resourceId } : null;
}

/**
 * Google no longer knows a watch (404/410): it is forgotten before a fresh one is registered.
 * A Calendar channel's ids stay: the new channel replaces it and stops it (a channel Google no
 * longer knows stops as a no-op), where forgetting them would leave it live forever.
 */
export function watchForgotten(which: 'gmail' | { calendarId: string }): SourceDecision<Source> {
  return (source, derive) =>
    writing(source, which === 'gmail' ? { watchId: null, watchExpiration: null } : calendarStateChange(source, which.calendarId, { channelExpiration: null }), derive);
}

/** A renewal finished: `null` when it succeeded, else why it failed. */
export function renewalFinished(renewalError: string | null): SourceDecision<Source> {
  return (source, derive) => writing(source, { renewalError }, derive);
}

/** The stored Google credentials no longer decrypt: the source needs a reconnect. */
export const RECONNECT_NEEDED = 'The stored Google access can no longer be read: reconnect needed';

export function credentialsUnreadable(): SourceDecision<Source> {
  return (source, derive) => writing(source, { disconnectReason: RECONNECT_NEEDED }, derive);
}

/**
 * The user connected an account already known: its address as Google spells it now, errors and
 * disconnection cleared, credentials stamped.
 */
export function reconnected(email: string, now: Date): SourceDecision<Source> {
  return (source, derive) => writing(source, { email, disconnectReason: null, consecutiveErrors: 0, renewalError: null, missedPushAt: null, credentialsAt: now }, derive);
}

/**
 * The user disconnected the source: its watches and pending work forgotten, and a new
 * credentials stamp, so no instance keeps using its decrypted copy.
 */
export function disconnectedByUser(reason: string, now: Date): SourceDecision<Source> {
  return (source, derive) =>
    writing(source, {
      disconnectReason: reason,
      watchId: null,
      watchExpiration: null,
      calendarChannelId: null,
      calendarResourceId: null,
      calendarChannelExpiration: null,
      calendarListChannel: null,
      ...withOtherCalendars(Object.fromEntries(Object.entries(source.calendars).map(([id, state]) => [id, { ...state, channelId: null, resourceId: null, channelExpiration: null }])), { ...source, calendarListChannel: null }),
      pending: NO_PENDING,
      credentialsAt: now,
    }, derive);
}

/**
 * Sync progress is written only while `owner` holds the lease, which the same write extends:
 * a run another instance has taken over never writes it.
 */
function whileHolding(owner: string, now: Date, leaseMs: number, change: (source: Source) => Partial<SourceData>): SourceDecision<Source> {
  return (source, derive) => {
    if (!holds(source, owner, now)) throw new LeaseLostError(source.id, owner);
    return writing(source, { ...change(source), lease: leaseFor(owner, now, leaseMs) }, derive);
  };
}

/** A resync walk's progress (`null`: done, the cursor moved to `cursor` when that is newer). */
export function resyncProgressed(owner: string, progress: GmailResync | null, cursor: string | null, now: Date, leaseMs: number): SourceDecision<Source> {
  return whileHolding(owner, now, leaseMs, (source) => {
    const advance = cursor !== null && isNewerHistoryId(cursor, source.historyId);
    return { gmailResync: progress, ...(advance && { historyId: cursor }) };
  });
}

/** A calendar has been listed up to `horizon`: events that enter the task window later are listed then. */
export function horizonMoved(owner: string, calendarId: string, horizon: Date, now: Date, leaseMs: number): SourceDecision<Source> {
  return whileHolding(owner, now, leaseMs, (source) => calendarStateChange(source, calendarId, { horizon }));
}

/**
 * A Calendar push, recorded without running anything: its calendar added to `pending.calendars` and `lastPushAt`
 * stamped, as a blind field write (setting a flag commutes with every other write, so a burst
 * of pushes does not contend on the document). A run must be requested unless the work was
 * already pending under a live lease, whose holder loops over it; after a write, always (the
 * holder may release between the read and the write).
 */
export function calendarPushRecorded(source: Source, calendarId: string, now: Date): { write: { stampPush: boolean } | null; needsRun: boolean } {
  // A channel of a calendar no longer synced (being stopped): nothing to do.
  if (!syncedCalendars(source).includes(calendarId)) return { write: null, needsRun: false };
  const stampPush = needsPushStamp(source, now);
  const pending = source.pending.calendar || source.pending.calendars.includes(calendarId);
  if (pending && !stampPush) return { write: null, needsRun: !leaseLive(source, now) };
  return { write: { stampPush }, needsRun: true };
}
