import { createHash } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import { z } from 'zod';
import type { ConnectStateStore } from '../engine/ports';
import { zodConverter } from './converter';

/**
 * OAuth `state` values, stored server-side by their hash (a leaked database row cannot be
 * replayed), bound to the user who started the flow, single-use and expiring.
 */

const stateSchema = z.object({ userId: z.string().min(1), loginHint: z.string().nullable(), createdAt: z.date(), expiresAt: z.date() });

const hash = (state: string) => createHash('sha256').update(state, 'utf8').digest('hex');

export class ConnectStateRepository implements ConnectStateStore {
  constructor(private readonly db: Firestore) {}

  private ref(state: string) {
    return this.db.collection('connectStates').withConverter(zodConverter(stateSchema)).doc(hash(state));
  }

  async save(state: string, entry: { userId: string; loginHint: string | null; createdAt: Date; expiresAt: Date }): Promise<void> {
    await this.ref(state).create(entry);
  }

  /** Deletes the state and returns its user, or null when unknown, already used or expired. */
  async consume(state: string, now: Date): Promise<{ userId: string } | null> {
    return this.db.runTransaction(async (tx) => {
      const snap = await tx.get(this.ref(state));
      const entry = snap.data();
      if (!entry) return null;
      tx.delete(this.ref(state));
      return entry.expiresAt > now ? { userId: entry.userId } : null;
    });
  }
}
