import type { Firestore, Query, QueryDocumentSnapshot, Transaction, UpdateData } from '@google-cloud/firestore';
import { changedFields, decideAdvance, decideExtend, decideSyncToken, needsPushStamp, type Decision } from '../engine/lease';
import { sourceSchema, type Source, type SourceData } from '../engine/model';
import type { SourceQueries, SourceStore } from '../engine/ports';
import { zodConverter } from './converter';
import { KeyedMutex } from './keyed-mutex';
import { COLLECTIONS } from './firestore';

export class SourceNotFoundError extends Error {
  constructor(readonly sourceId: string) {
    super(`Source ${sourceId} does not exist`);
    this.name = 'SourceNotFoundError';
  }
}

// Many triggers race on one source document; the emulator and production both abort
// contended transactions, so allow more attempts than the SDK's default of 5.
const TRANSACTION_OPTIONS = { maxAttempts: 30 };

const LIVE_STATUSES = ['active', 'degraded'];
const SCAN_PAGE_SIZE = 200;

export class SourceRepository implements SourceStore, SourceQueries {
  constructor(private readonly db: Firestore) {}

  private collection() {
    return this.db.collection(COLLECTIONS.sources).withConverter(zodConverter(sourceSchema));
  }

  private ref(id: string) {
    return this.collection().doc(id);
  }

  private readonly mutex = new KeyedMutex();

  async get(id: string): Promise<Source | null> {
    const snap = await this.ref(id).get();
    const data = snap.data();
    return data ? { id, ...data } : null;
  }

  async create(id: string, data: SourceData): Promise<void> {
    await this.ref(id).create(data);
  }

  /**
   * Applies an engine decision in one transaction: read, decide, write only the fields the
   * decision changed (a field-level update, so a field unknown to this version survives).
   */
  transition<T>(id: string, now: Date, decide: (source: Source) => Decision<T>): Promise<T> {
    return this.mutex.run(id, () =>
      this.db.runTransaction(async (tx: Transaction) => {
        const snap = await tx.get(this.ref(id));
        const data = snap.data();
        if (!data) throw new SourceNotFoundError(id);
        const { patch, result } = decide({ id, ...data });
        if (patch !== null) tx.update(this.ref(id), { ...patch, updatedAt: now } as UpdateData<SourceData>);
        return result;
      }, TRANSACTION_OPTIONS),
    );
  }

  /** Read-modify-write through `change`; only the fields it changed are written. */
  update(id: string, now: Date, change: (source: Source) => Partial<SourceData>): Promise<Source> {
    return this.transition(id, now, (current) => {
      const next = { ...current, ...change(current) };
      const patch = changedFields(current, next);
      return { patch, result: patch === null ? current : { ...next, updatedAt: now } };
    });
  }

  async findByEmail(email: string): Promise<Source[]> {
    const snap = await this.collection().where('email', '==', email).get();
    return snap.docs.map((d) => ({ id: d.id, ...d.data() }));
  }

  async listByUser(userId: string): Promise<Source[]> {
    const snap = await this.collection().where('userId', '==', userId).get();
    return snap.docs.map((d) => ({ id: d.id, ...d.data() }));
  }

  /**
   * A Calendar push, recorded without running anything: sets `pending.calendar` and stamps
   * `lastPushAt`. Answers whether a run must be requested: not when the work was already
   * pending under a live lease, whose holder will loop over it. The write is a blind field
   * update, not a transaction: setting a flag to true commutes with everything else, and a
   * burst of pushes then does not contend on the document.
   */
  async markCalendarPending(id: string, now: Date): Promise<{ needsRun: boolean }> {
    const snapshot = await this.get(id);
    if (!snapshot) throw new SourceNotFoundError(id);
    const holderLive = snapshot.lease !== null && snapshot.lease.until > now;
    const stamp = needsPushStamp(snapshot, now);
    if (snapshot.pending.calendar && !stamp) return { needsRun: !holderLive };
    await this.db
      .collection(COLLECTIONS.sources)
      .doc(id)
      .update({ 'pending.calendar': true, updatedAt: now, ...(stamp && { lastPushAt: now }) });
    // The holder may release between our read and our write: ask for a run to be safe.
    return { needsRun: true };
  }

  extendLease(id: string, owner: string, now: Date, leaseMs: number): Promise<void> {
    return this.transition(id, now, (s) => decideExtend(s, id, owner, now, leaseMs));
  }

  advanceHistoryId(id: string, owner: string, historyId: string, now: Date): Promise<boolean> {
    return this.transition(id, now, (s) => decideAdvance(s, id, owner, historyId, now));
  }

  setCalendarSyncToken(id: string, owner: string, token: string | null, now: Date): Promise<void> {
    return this.transition(id, now, (s) => decideSyncToken(s, id, owner, token, now));
  }

  /** Documents read by the scheduled jobs' queries, for cost accounting. */
  scannedDocuments = 0;

  /** Pages through an indexed query, ordered by document id within each page. */
  private async *scan(query: Query<SourceData>): AsyncIterable<Source> {
    let last: QueryDocumentSnapshot<SourceData> | undefined;
    for (;;) {
      const page = await (last ? query.startAfter(last) : query).limit(SCAN_PAGE_SIZE).get();
      this.scannedDocuments += page.size;
      for (const doc of page.docs) yield { id: doc.id, ...doc.data() };
      if (page.size < SCAN_PAGE_SIZE) return;
      last = page.docs[page.docs.length - 1];
    }
  }

  private live() {
    return this.collection().where('status', 'in', LIVE_STATUSES);
  }

  async *watchesExpiringBefore(cutoff: Date): AsyncIterable<Source> {
    for (const field of ['watchExpiration', 'calendarChannelExpiration'] as const) {
      yield* this.scan(this.live().where(field, '<', cutoff).orderBy(field));
      yield* this.scan(this.live().where(field, '==', null));
    }
  }

  async *notCheckedSince(cutoff: Date): AsyncIterable<Source> {
    yield* this.scan(this.live().where('lastCheckAt', '<', cutoff).orderBy('lastCheckAt'));
    yield* this.scan(this.live().where('lastCheckAt', '==', null));
  }

  async *leaseExpiredBefore(now: Date): AsyncIterable<Source> {
    yield* this.scan(this.live().where('lease.until', '<', now).orderBy('lease.until'));
  }
}
