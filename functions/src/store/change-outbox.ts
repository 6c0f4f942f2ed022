import type { Firestore, Transaction, WriteBatch } from '@google-cloud/firestore';
import * as z from 'zod';
import { orderingKeyOf, type ChangeEvent } from '../contracts/change-events';
import { zodConverter } from './converter';
import { COLLECTIONS } from './firestore';

/**
 * The change stream's transactional outbox: every event is written in the same commit as the
 * task or source change it describes, so a change is never stored without its event. An entry
 * is deleted once Pub/Sub accepted it; what is left (a publish that failed, a process killed
 * after the commit) is published by the sweep (`publishChanges`).
 */

export const outboxEntrySchema = z.object({
  /** The CloudEvent, serialized once: what is published is exactly what was committed. */
  payload: z.string().min(2),
  type: z.string().min(1),
  orderingKey: z.string().min(1),
  createdAt: z.date(),
});
export type OutboxEntry = z.infer<typeof outboxEntrySchema> & { id: string };

/** Transactions and batches both stage an entry with `set`. */
type Writes = Pick<Transaction, 'set'> | Pick<WriteBatch, 'set'>;

/** Called with the entries a commit staged, after it succeeded. */
export type DeliverChanges = (entries: readonly OutboxEntry[]) => Promise<void>;

export class ChangeOutbox {
  constructor(private readonly db: Firestore) {}

  private collection() {
    return this.db.collection(COLLECTIONS.changeOutbox).withConverter(zodConverter(outboxEntrySchema));
  }

  /** Adds the event to the caller's commit. The id is the event's, so a replayed commit overwrites it. */
  stage(writes: Writes, event: ChangeEvent, now: Date): OutboxEntry {
    const entry = { payload: JSON.stringify(event), type: event.type, orderingKey: orderingKeyOf(event), createdAt: now };
    const id = event.id.replaceAll('/', '|');
    (writes as Pick<WriteBatch, 'set'>).set(this.collection().doc(id), entry);
    return { id, ...entry };
  }

  /** Entries staged at or before `cutoff`, oldest first. */
  async stagedBefore(cutoff: Date, limit: number): Promise<OutboxEntry[]> {
    const snap = await this.collection().where('createdAt', '<=', cutoff).orderBy('createdAt').limit(limit).get();
    return snap.docs.map((d) => ({ id: d.id, ...d.data() }));
  }

  async remove(ids: readonly string[]): Promise<void> {
    const batch = this.db.batch();
    ids.forEach((id) => batch.delete(this.collection().doc(id)));
    await batch.commit();
  }
}
