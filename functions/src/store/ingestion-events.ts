import type { Firestore } from '@google-cloud/firestore';
import { ingestionEventSchema, type IngestionEvent } from '../engine/model';
import { zodConverter } from './converter';
import { COLLECTIONS } from './firestore';

export type NewIngestionEvent = Omit<IngestionEvent, 'expireAt'>;

/**
 * One document per exceptional sync pass (the runner's `worthRecording`). `expireAt` drives the Firestore TTL policy; TTL deletes lazily
 * (and never in the emulator), so reads filter on it and `deleteExpired` is the backstop.
 */
export class IngestionEventRepository {
  constructor(
    private readonly db: Firestore,
    private readonly retentionMs: number,
  ) {}

  private collection() {
    return this.db.collection(COLLECTIONS.ingestionEvents).withConverter(zodConverter(ingestionEventSchema));
  }

  async record(event: NewIngestionEvent): Promise<IngestionEvent> {
    const stored: IngestionEvent = {
      ...event,
      expireAt: new Date(event.createdAt.getTime() + this.retentionMs),
    };
    await this.collection().add(stored);
    return stored;
  }

  /** The source's unexpired events, newest first. */
  async listForSource(sourceId: string, now: Date, limit = 50): Promise<IngestionEvent[]> {
    const snap = await this.collection()
      .where('sourceId', '==', sourceId)
      .where('expireAt', '>', now)
      .orderBy('expireAt', 'desc')
      .limit(limit)
      .get();
    return snap.docs.map((d) => d.data());
  }

  /** Deletes up to `batchSize` expired events; returns how many went. */
  async deleteExpiredBatch(now: Date, batchSize: number): Promise<number> {
    const snap = await this.db
      .collection(COLLECTIONS.ingestionEvents)
      .where('expireAt', '<=', now)
      .orderBy('expireAt')
      .limit(batchSize)
      .select()
      .get();
    if (snap.empty) return 0;
    const batch = this.db.batch();
    snap.docs.forEach((d) => batch.delete(d.ref));
    await batch.commit();
    return snap.size;
  }
}
