import { GrpcStatus, type Firestore, type Transaction, type WriteBatch } from '@google-cloud/firestore';
import * as z from 'zod';
import { taskChangedEvent, type TaskChange } from '../contracts/change-events';
import { taskIdFor, taskSchema, type Task, type TaskOrigin } from '../engine/model';
import type { StatusUpdate, TaskStore } from '../engine/ports';
import { taskChangeKind } from '../engine/stream/changes';
import { ChangeOutbox, type DeliverChanges, type OutboxEntry } from './change-outbox';
import { zodConverter } from './converter';
import { COLLECTIONS, failedWith } from './firestore';

/** A task as stored: with the version its change events carry (0 for tasks written before events existed). */
const storedTaskSchema = taskSchema.extend({ version: z.number().int().nonnegative().default(0) });
type StoredTask = z.infer<typeof storedTaskSchema>;

export interface UpsertResult {
  written: number;
  /** Ignored because the stored task reflects a newer change. */
  stale: number;
}

// Keeps each transaction well inside Firestore's request-size and time limits.
const UPSERT_CHUNK = 200;

export class TaskRepository implements TaskStore {
  private readonly outbox: ChangeOutbox;

  /** `deliver` publishes what a commit staged; without it (or when it fails) the sweep does. */
  constructor(
    private readonly db: Firestore,
    private readonly deliver?: DeliverChanges,
  ) {
    this.outbox = new ChangeOutbox(db);
  }

  private collection(userId: string) {
    return this.db
      .collection(COLLECTIONS.users)
      .doc(userId)
      .collection(COLLECTIONS.tasks)
      .withConverter(zodConverter(storedTaskSchema));
  }

  /**
   * Writes the task and, when a consumer would see a difference, its next version and its
   * change event, in the caller's commit. Returns the event's outbox entry, if any.
   */
  private writeTask(writes: Transaction | WriteBatch, userId: string, stored: StoredTask | null, incoming: Task, now: Date): OutboxEntry | null {
    const change = taskChangeKind(stored, incoming);
    const version = (stored?.version ?? 0) + (change === null ? 0 : 1);
    const taskId = taskIdFor(incoming.sourceId, incoming.origin, incoming.externalId, incoming.calendarId);
    (writes as WriteBatch).set(this.collection(userId).doc(taskId), { ...incoming, version });
    if (change === null) return null;
    return this.outbox.stage(writes, taskChangedEvent(changeOf(userId, taskId, incoming, version, change), now), now);
  }

  private async delivered(entries: readonly (OutboxEntry | null)[]): Promise<void> {
    const staged = entries.filter((e): e is OutboxEntry => e !== null);
    if (staged.length > 0 && this.deliver) await this.deliver(staged);
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
        const staged: (OutboxEntry | null)[] = [];
        let stale = 0;
        snaps.forEach((snap, index) => {
          const incoming = chunk[index]!;
          const stored = snap.data() ?? null;
          if (stored && stored.externalUpdatedAt > incoming.externalUpdatedAt) {
            stale += 1;
            return;
          }
          staged.push(this.writeTask(tx, userId, stored, incoming, incoming.updatedAt));
        });
        return { written: staged.length, stale, staged };
      }, { maxAttempts: 10 });
      await this.delivered(chunkResult.staged);
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
      const staged = chunk.map((t) => {
        const taskId = taskIdFor(t.sourceId, t.origin, t.externalId, t.calendarId);
        batch.create(this.collection(userId).doc(taskId), { ...t, version: 1 });
        return this.outbox.stage(batch, taskChangedEvent(changeOf(userId, taskId, t, 1, 'created'), t.updatedAt), t.updatedAt);
      });
      try {
        // All or nothing: one that exists fails the batch, and the chunk is upserted instead.
        await batch.commit();
        result.written += chunk.length;
        await this.delivered(staged);
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
      const staged = await this.db.runTransaction(async (tx) => {
        const refs = chunk.map((u) => this.collection(userId).doc(taskIdFor(u.sourceId, u.origin, u.externalId, u.calendarId)));
        const snaps = await tx.getAll(...refs);
        const written: (OutboxEntry | null)[] = [];
        snaps.forEach((snap, index) => {
          const stored = snap.data();
          const changedAt = chunk[index]!.externalUpdatedAt ?? at;
          if (!stored || stored.status === status || stored.externalUpdatedAt > changedAt) return;
          const reason = chunk[index]!.reason;
          written.push(this.writeTask(tx, userId, stored, { ...stored, status, externalUpdatedAt: changedAt, updatedAt: at, ...(reason !== undefined && { reason }) }, at));
        });
        return written;
      }, { maxAttempts: 10 });
      await this.delivered(staged);
      changed += staged.length;
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

function changeOf(userId: string, taskId: string, task: Task, version: number, change: TaskChange['change']): TaskChange {
  const { sourceId, origin, externalId, title, link, status } = task;
  return { userId, sourceId, taskId, origin, externalId, title, dueAt: task.dueAt?.toISOString() ?? null, link, status, version, change };
}
