import type { Firestore } from '@google-cloud/firestore';
import { channelSchema, type Channel } from '../engine/model';
import { zodConverter } from './converter';
import { COLLECTIONS } from './firestore';

/** `channels/{channelId}` → source: the O(1) lookup a Calendar push needs. */
export class ChannelRepository {
  constructor(private readonly db: Firestore) {}

  private ref(channelId: string) {
    return this.db.collection(COLLECTIONS.channels).withConverter(zodConverter(channelSchema)).doc(channelId);
  }

  async put(channelId: string, channel: Channel): Promise<void> {
    await this.ref(channelId).set(channel);
  }

  async get(channelId: string): Promise<Channel | null> {
    return (await this.ref(channelId).get()).data() ?? null;
  }

  async markConfirmed(channelId: string, now: Date): Promise<void> {
    await this.ref(channelId).update({ confirmedAt: now });
  }

  async delete(channelId: string): Promise<void> {
    await this.ref(channelId).delete();
  }
}
