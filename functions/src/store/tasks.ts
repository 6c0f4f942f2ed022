import { GrpcStatus, type Firestore } from '@google-cloud/firestore';
import { taskIdFor, taskSchema, type Task, type TaskOrigin } from '../engine/model';
import type { StatusUpdate, TaskStore } from '../engine/ports';
import { zodConverter } from './converter';
import { COLLECTIONS, failedWith } from './firestore';

export interface UpsertResult {
  written: number;
  /** Ignored because the stored task reflects a newer change. */
  stale: number;
}

// Keeps each transaction well inside Firestore's request-size and time limits.
const UPSERT_CHUNK = 200;

export class TaskRepository implements TaskStore {
  constructor(private readonly db: Firestore) {}

  private collection(userId: string) {
    return this.db
      .collection(COLLECTIONS.users)
      .doc(userId)
      .collection(COLLECTIONS.tasks)
      .withConverter(zodConverter(taskSchema));
  }

  async get(userId: string, sourceId: string, origin: TaskOrigin, externalId: string): Promise<Task | null> {
    const snap = await this.collection(userId).doc(taskIdFor(sourceId, origin, externalId)).get();
    return snap.data() ?? null;
  }


  /**
   * Idempotent upserts keyed by the deterministic task id. A task whose stored
   * `externalUpdatedAt` is newer than the incoming one is left alone, so a replayed or
   * reordered change never undoes a later one.
   */
  async upsert(userId: string, tasks: readonly Task[]): Promise<UpsertResult> {
    const result: UpsertResult = { written: 0, stale: 0 };
    for (let i = 0; i < tasks.length; i += UPSERT_CHUNK) {
      const chunk = tasks.slice(i, i + UPSERT_CHUNK);
      const chunkResult = await this.db.runTransaction(async (tx) => {
        const refs = chunk.map((t) => this.collection(userId).doc(taskIdFor(t.sourceId, t.origin, t.externalId, t.calendarId)));
        const snaps = await tx.getAll(...refs);
        let written = 0;
        let stale = 0;
        snaps.forEach((snap, index) => {
          const incoming = chunk[index]!;
          const stored = snap.data();
          if (stored && stored.externalUpdatedAt > incoming.externalUpdatedAt) {
            stale += 1;
            return;
          }
          tx.set(refs[index]!, incoming);
          written += 1;
        });
        return { written, stale };
      }, { maxAttempts: 10 });
      result.written += chunkResult.written;
      result.stale += chunkResult.stale;
    }
    return result;
  }

  async insertNew(userId: string, tasks: readonly Task[]): Promise<UpsertResult> {
    const result: UpsertResult = { written: 0, stale: 0 };
    for (let i = 0; i < tasks.length; i += UPSERT_CHUNK) {
      const chunk = tasks.slice(i, i + UPSERT_CHUNK);
      const batch = this.db.batch();
      chunk.forEach((t) => batch.create(this.collection(userId).doc(taskIdFor(t.sourceId, t.origin, t.externalId, t.calendarId)), t));
      try {
        // All or nothing: one that exists fails the batch, and the chunk is upserted instead.
        await batch.commit();
        result.written += chunk.length;
      } catch (error) {
        if (!failedWith(error, GrpcStatus.ALREADY_EXISTS)) throw error;
        const upserted = await this.upsert(userId, chunk);
        result.written += upserted.written;
        result.stale += upserted.stale;
      }
    }
    return result;
  }

  async setStatusIfExists(
    userId: string,
    updates: readonly StatusUpdate[],
    status: Task['status'],
    at: Date,
  ): Promise<number> {
    let changed = 0;
    for (let i = 0; i < updates.length; i += UPSERT_CHUNK) {
      const chunk = updates.slice(i, i + UPSERT_CHUNK);
      changed += await this.db.runTransaction(async (tx) => {
        const refs = chunk.map((u) => this.collection(userId).doc(taskIdFor(u.sourceId, u.origin, u.externalId, u.calendarId)));
        const snaps = await tx.getAll(...refs);
        let count = 0;
        snaps.forEach((snap, index) => {
          const stored = snap.data();
          const changedAt = chunk[index]!.externalUpdatedAt ?? at;
          if (!stored || stored.status === status || stored.externalUpdatedAt > changedAt) return;
          const reason = chunk[index]!.reason;
          tx.set(refs[index]!, { ...stored, status, externalUpdatedAt: changedAt, updatedAt: at, ...(reason !== undefined && { reason }) });
          count += 1;
        });
        return count;
      }, { maxAttempts: 10 });
    }
    return changed;
  }

  async listOpen(userId: string, sourceId: string, origin: TaskOrigin): Promise<Task[]> {
    const snap = await this.collection(userId)
      .where('sourceId', '==', sourceId)
      .where('origin', '==', origin)
      .where('status', '==', 'open')
      .get();
    return snap.docs.map((d) => d.data());
  }
}
