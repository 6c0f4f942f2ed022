import { GrpcStatus, type Firestore } from '@google-cloud/firestore';
import { messageNumberSlot } from '../engine/calendar/notifications';
import { channelSchema, type Channel, type NewChannel } from '../engine/model';
import type { ChannelStore } from '../engine/calendar/ports';
import { zodConverter } from './converter';
import { COLLECTIONS, failedWith } from './firestore';

/** `channels/{channelId}` → source: the O(1) lookup a Calendar push needs. */
export class ChannelRepository implements ChannelStore {
  constructor(private readonly db: Firestore) {}

  private ref(channelId: string) {
    return this.db.collection(COLLECTIONS.channels).withConverter(zodConverter(channelSchema)).doc(channelId);
  }

  /**
   * Stores the channel; writing it again (once events.watch returned its resource id) keeps
   * what its notifications already recorded, since the `sync` may arrive before that.
   */
  async put(channelId: string, channel: NewChannel): Promise<void> {
    await this.db.runTransaction(async (tx) => {
      const existing = (await tx.get(this.ref(channelId))).data();
      const seen =
        existing?.sourceId === channel.sourceId
          ? { confirmedAt: existing.confirmedAt, recentMessageNumbers: existing.recentMessageNumbers, lastMessageNumber: existing.lastMessageNumber }
          : {};
      tx.set(this.ref(channelId), channelSchema.parse({ ...channel, ...seen }));
    });
  }

  async get(channelId: string): Promise<Channel | null> {
    return (await this.ref(channelId).get()).data() ?? null;
  }

  async recordMessageNumber(channelId: string, messageNumber: number): Promise<void> {
    try {
      await this.db.collection(COLLECTIONS.channels).doc(channelId).update({ [`recentMessageNumbers.${messageNumberSlot(messageNumber)}`]: messageNumber });
    } catch (error) {
      // The channel was stopped meanwhile: its notifications no longer count.
      if (!failedWith(error, GrpcStatus.NOT_FOUND)) throw error;
    }
  }

  async confirm(channelId: string, messageNumber: number, now: Date): Promise<boolean> {
    return this.db.runTransaction(async (tx) => {
      const channel = (await tx.get(this.ref(channelId))).data();
      if (!channel || channel.confirmedAt !== null) return false;
      tx.update(this.ref(channelId), { [`recentMessageNumbers.${messageNumberSlot(messageNumber)}`]: messageNumber, confirmedAt: now });
      return true;
    });
  }

  async delete(channelId: string): Promise<void> {
    await this.ref(channelId).delete();
  }
}
