import { timingSafeEqual } from 'node:crypto';
import type { Channel } from '../model';
import type { ChannelStore } from './ports';
import type { Clock } from '../ports';
import type { SecretStore } from '../account/ports';
import type { SourceStore } from '../source/ports';
import type { SyncRequestPublisher } from '../jobs/ports';
import { hashChannelToken } from '../account/watches';

export interface CalendarPush {
  channelId: string;
  resourceId: string;
  state: 'sync' | 'exists' | 'not_exists';
  token: string | null;
  messageNumber: number;
}

export type CalendarPushVerdict =
  | { kind: 'confirmed'; sourceId: string }
  | { kind: 'queued'; sourceId: string }
  | { kind: 'ignored'; sourceId: string }
  | { kind: 'rejected'; status: 403 | 404; reason: string };

function sameHash(token: string, storedHash: string): boolean {
  const presented = Buffer.from(hashChannelToken(token), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

/** Slots of a channel's recently seen message numbers: enough for a burst and its retries. */
export const MESSAGE_NUMBER_SLOTS = 64;

export function messageNumberSlot(messageNumber: number): string {
  return String(messageNumber % MESSAGE_NUMBER_SLOTS);
}

/**
 * A notification seen before: Google's redelivery, or a replay of a captured one. Only an
 * exact repeat counts: whoever holds a channel's token can send any number, so a number
 * below one seen (or far above) is treated as news rather than let a forged high number
 * silence every genuine notification after it (a needless sync costs one events.list).
 */
export function isRepeatedMessage(channel: Channel, messageNumber: number): boolean {
  return channel.recentMessageNumbers[messageNumberSlot(messageNumber)] === messageNumber || channel.lastMessageNumber === messageNumber;
}

type PushDeps = { channels: ChannelStore; secrets: SecretStore; sources: SourceStore; publisher: SyncRequestPublisher; clock: Clock };

/** The channel a notification speaks for, or why it is refused: known channel, its resource, its token. */
async function authenticatedChannel(deps: Pick<PushDeps, 'channels' | 'secrets'>, push: CalendarPush): Promise<Channel | CalendarPushVerdict> {
  const channel = await deps.channels.get(push.channelId);
  if (!channel) return { kind: 'rejected', status: 404, reason: 'unknown channel' };
  // Before events.watch has returned, the channel's resource id is not known yet.
  if (channel.resourceId !== null && channel.resourceId !== push.resourceId) {
    return { kind: 'rejected', status: 403, reason: 'resource id does not match the channel' };
  }
  const storedHash = await deps.secrets.channelTokenHash(channel.sourceId, push.channelId);
  if (push.token === null || storedHash === null || !sameHash(push.token, storedHash)) {
    return { kind: 'rejected', status: 403, reason: 'bad channel token' };
  }
  return channel;
}

/**
 * Authenticates a Calendar channel notification (known channel, matching resource, the
 * channel's own token compared in constant time) and records `exists` as pending Calendar
 * work (stamping `lastPushAt`); on the calendar list's channel, it requests a check of the list. It never calls Google, so it answers quickly; a rejection
 * changes nothing.
 */
export async function handleCalendarPush(deps: PushDeps, push: CalendarPush): Promise<CalendarPushVerdict> {
  const channel = await authenticatedChannel(deps, push);
  if ('kind' in channel) return channel;
  const now = deps.clock.now();
  // A captured notification stays valid for the channel's life: replays change nothing. The
  // numbers read above are enough: a notification racing its own replay costs one sync more.
  if (isRepeatedMessage(channel, push.messageNumber)) return { kind: 'ignored', sourceId: channel.sourceId };
  if (push.state === 'sync') {
    const confirmed = channel.confirmedAt === null && (await deps.channels.confirm(push.channelId, push.messageNumber, now));
    return confirmed ? { kind: 'confirmed', sourceId: channel.sourceId } : { kind: 'ignored', sourceId: channel.sourceId };
  }
  // No transaction: a burst's notifications would queue on the channel document for seconds.
  await deps.channels.recordMessageNumber(push.channelId, push.messageNumber);
  if (push.state === 'not_exists') return { kind: 'ignored', sourceId: channel.sourceId };
  if (channel.watches === 'calendarList') {
    // The list changed: the worker checks it against the choice (that asks Google; this answers at once).
    await deps.publisher.publish({ kind: 'calendarList', sourceId: channel.sourceId });
    return { kind: 'queued', sourceId: channel.sourceId };
  }
  // Recording the work here, not in the worker, lets a late or duplicated request find it
  // already done, at the cost of a read instead of a sync.
  const { needsRun } = await deps.sources.markCalendarPending(channel.sourceId, channel.calendarId, now);
  if (needsRun) await deps.publisher.publish({ kind: 'sync', sourceId: channel.sourceId, trigger: 'push', calendar: false, gmail: false });
  return { kind: 'queued', sourceId: channel.sourceId };
}
