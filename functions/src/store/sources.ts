import { LeaseLostError } from '../engine/errors';
import type { Firestore, Transaction } from '@google-cloud/firestore';
import { isNewerHistoryId, maxHistoryId } from '../engine/history-id';
import {
  NO_PENDING,
  sourceSchema,
  type Pending,
  type Source,
  type SourceData,
} from '../engine/model';
import type { Query, QueryDocumentSnapshot } from '@google-cloud/firestore';
import type { PendingOutcome, SourceQueries, SourceStore } from '../engine/ports';
import { zodConverter } from './converter';
import { KeyedMutex } from './keyed-mutex';
import { COLLECTIONS } from './firestore';

// Defined in the engine, which must recognise it (a lost lease is not a sync error).
export { LeaseLostError };

export class SourceNotFoundError extends Error {
  constructor(readonly sourceId: string) {
    super(`Source ${sourceId} does not exist`);
    this.name = 'SourceNotFoundError';
  }
}


export function hasPending(pending: Pending): boolean {
  return pending.gmail !== null || pending.calendar;
}

function holds(source: SourceData, owner: string, now: Date): boolean {
  return source.lease !== null && source.lease.owner === owner && source.lease.until > now;
}

// Many triggers race on one source document; the emulator and production both abort
// contended transactions, so allow more attempts than the SDK's default of 5.
const TRANSACTION_OPTIONS = { maxAttempts: 30 };

const LIVE_STATUSES = ['active', 'degraded'];
const SCAN_PAGE_SIZE = 200;

// A push refreshes `lastPushAt` at most this often, so that duplicate pushes cost no write.
const PUSH_STAMP_INTERVAL_MS = 60_000;

export class SourceRepository implements SourceStore, SourceQueries {
  constructor(private readonly db: Firestore) {}

  private collection() {
    return this.db.collection(COLLECTIONS.sources).withConverter(zodConverter(sourceSchema));
  }

  private ref(id: string) {
    return this.collection().doc(id);
  }

  private readonly mutex = new KeyedMutex();

  private transact<T>(id: string, work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.mutex.run(id, () => this.db.runTransaction(work, TRANSACTION_OPTIONS));
  }

  private async read(tx: Transaction, id: string): Promise<SourceData> {
    const snap = await tx.get(this.ref(id));
    const data = snap.data();
    if (!data) throw new SourceNotFoundError(id);
    return data;
  }

  async get(id: string): Promise<Source | null> {
    const snap = await this.ref(id).get();
    const data = snap.data();
    return data ? { id, ...data } : null;
  }

  async create(id: string, data: SourceData): Promise<void> {
    await this.ref(id).create(data);
  }


  /** Read-modify-write of a whole, validated document. */
  async update(id: string, now: Date, change: (source: Source) => Partial<SourceData>): Promise<Source> {
    return this.transact(id, async (tx) => {
      const current = { id, ...(await this.read(tx, id)) };
      const next = { ...current, ...change(current), updatedAt: now };
      const { id: _id, ...data } = next;
      tx.set(this.ref(id), data);
      return next;
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
   * Step 1 of the sync runner: merge the announced work into `pending` and take the lease if
   * it is free or expired. Work that adds nothing (a Gmail history id not newer than the
   * cursor or what is already pending, with no calendar change) writes nothing, except to
   * refresh a stale `lastPushAt` when `pushAt` is given.
   */
  async recordPending(
    id: string,
    work: Pending,
    owner: string,
    now: Date,
    leaseMs: number,
    pushAt?: Date,
    readJustNow?: Source,
  ): Promise<PendingOutcome> {
    // Fast path, no transaction: a strongly consistent read that shows the work already
    // covered (by the cursor, or pending under a live lease) means the holder, which claims
    // pending work only after this read, will see it. Bursts then cost reads, not contention.
    // A caller that has just read the source passes it instead of paying for a second read.
    const snapshot = readJustNow ?? (await this.get(id));
    if (snapshot && !this.needsRecording(snapshot, work, now, pushAt)) {
      return { kind: snapshot.lease !== null ? 'recorded' : 'nothing-new', source: snapshot };
    }
    return this.transact(id, async (tx) => {
      const current = await this.read(tx, id);
      const stampPush = pushAt !== undefined && this.needsPushStamp(current, pushAt);
      const source = stampPush ? { ...current, lastPushAt: pushAt } : current;
      const gmailIsNew =
        work.gmail !== null &&
        isNewerHistoryId(work.gmail, source.historyId) &&
        isNewerHistoryId(work.gmail, source.pending.gmail);
      const calendarIsNew = work.calendar && !source.pending.calendar;
      const leaseFree = source.lease === null || source.lease.until <= now;
      const somethingPending = gmailIsNew || calendarIsNew || hasPending(source.pending);

      if (!gmailIsNew && !calendarIsNew && !(leaseFree && somethingPending)) {
        if (stampPush) tx.set(this.ref(id), { ...source, updatedAt: now });
        return { kind: 'nothing-new', source: { id, ...source } };
      }
      const pending: Pending = {
        gmail: gmailIsNew ? maxHistoryId(source.pending.gmail, work.gmail) : source.pending.gmail,
        calendar: source.pending.calendar || work.calendar,
      };
      const lease = leaseFree ? { owner, until: new Date(now.getTime() + leaseMs) } : source.lease;
      const next: SourceData = { ...source, pending, lease, updatedAt: now };
      tx.set(this.ref(id), next);
      return { kind: leaseFree ? 'acquired' : 'recorded', source: { id, ...next } };
    });
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
    if (snapshot.pending.calendar && !this.needsPushStamp(snapshot, now)) return { needsRun: !holderLive };
    await this.db
      .collection(COLLECTIONS.sources)
      .doc(id)
      .update({ 'pending.calendar': true, updatedAt: now, ...(this.needsPushStamp(snapshot, now) && { lastPushAt: now }) });
    // The holder may release between our read and our write: ask for a run to be safe.
    return { needsRun: true };
  }

  private needsPushStamp(source: SourceData, pushAt: Date): boolean {
    return source.lastPushAt === null || pushAt.getTime() - source.lastPushAt.getTime() >= PUSH_STAMP_INTERVAL_MS;
  }

  private needsRecording(source: SourceData, work: Pending, now: Date, pushAt: Date | undefined): boolean {
    const leaseLive = source.lease !== null && source.lease.until > now;
    // Pending work whose holder died: this trigger takes it over.
    if (!leaseLive && hasPending(source.pending)) return true;
    if (pushAt !== undefined && this.needsPushStamp(source, pushAt)) return true;
    const gmailCovered =
      work.gmail === null || !isNewerHistoryId(work.gmail, source.historyId) || (leaseLive && !isNewerHistoryId(work.gmail, source.pending.gmail));
    const calendarCovered = !work.calendar || (leaseLive && source.pending.calendar);
    return !(gmailCovered && calendarCovered);
  }

  /**
   * Step 2: the holder takes everything pending (clearing it) and extends its lease.
   * Throws LeaseLostError when the caller no longer holds the lease.
   */
  async claimPending(id: string, owner: string, now: Date, leaseMs: number): Promise<{ pending: Pending; source: Source }> {
    return this.transact(id, async (tx) => {
      const source = await this.read(tx, id);
      if (!holds(source, owner, now)) throw new LeaseLostError(id, owner);
      const next: SourceData = {
        ...source,
        pending: NO_PENDING,
        lease: { owner, until: new Date(now.getTime() + leaseMs) },
        updatedAt: now,
      };
      tx.set(this.ref(id), next);
      return { pending: source.pending, source: { id, ...next } };
    });
  }

  /** Keeps the lease alive during a long sync. */
  async extendLease(id: string, owner: string, now: Date, leaseMs: number): Promise<void> {
    await this.transact(id, async (tx) => {
      const source = await this.read(tx, id);
      if (!holds(source, owner, now)) throw new LeaseLostError(id, owner);
      tx.set(this.ref(id), { ...source, lease: { owner, until: new Date(now.getTime() + leaseMs) }, updatedAt: now });
    });
  }

  /**
   * Step 3: release the lease unless new work arrived meanwhile, in which case the holder
   * keeps it and loops. Checking and releasing in one transaction is what makes sure no
   * recorded work is left without a runner.
   */
  async releaseOrContinue(id: string, owner: string, now: Date, leaseMs: number): Promise<'released' | 'continue'> {
    return this.transact(id, async (tx) => {
      const source = await this.read(tx, id);
      if (!holds(source, owner, now)) {
        // Someone else took over (our lease expired); the work is theirs now.
        return 'released';
      }
      if (hasPending(source.pending)) {
        tx.set(this.ref(id), { ...source, lease: { owner, until: new Date(now.getTime() + leaseMs) }, updatedAt: now });
        return 'continue';
      }
      tx.set(this.ref(id), { ...source, lease: null, updatedAt: now });
      return 'released';
    });
  }

  /**
   * Gives the lease back after a failed run, putting back the work it had claimed so that the
   * next trigger or the fallback poll finds it.
   */
  async releaseLease(id: string, owner: string, now: Date, restore: Pending = NO_PENDING): Promise<void> {
    await this.transact(id, async (tx) => {
      const source = await this.read(tx, id);
      const pending: Pending = {
        gmail: maxHistoryId(source.pending.gmail, restore.gmail),
        calendar: source.pending.calendar || restore.calendar,
      };
      const lease = source.lease?.owner === owner ? null : source.lease;
      tx.set(this.ref(id), { ...source, pending, lease, updatedAt: now });
    });
  }

  /**
   * Moves the Gmail cursor forward, only while `owner` holds the lease. Returns false when
   * the id is not newer than the stored cursor (the cursor never moves backwards).
   */
  async advanceHistoryId(id: string, owner: string, historyId: string, now: Date): Promise<boolean> {
    return this.transact(id, async (tx) => {
      const source = await this.read(tx, id);
      if (!holds(source, owner, now)) throw new LeaseLostError(id, owner);
      if (!isNewerHistoryId(historyId, source.historyId)) return false;
      tx.set(this.ref(id), { ...source, historyId, updatedAt: now });
      return true;
    });
  }

  /** Stores the Calendar sync token (`null` clears it), only while `owner` holds the lease. */
  async setCalendarSyncToken(id: string, owner: string, token: string | null, now: Date): Promise<void> {
    await this.transact(id, async (tx) => {
      const source = await this.read(tx, id);
      if (!holds(source, owner, now)) throw new LeaseLostError(id, owner);
      tx.set(this.ref(id), { ...source, calendarSyncToken: token, updatedAt: now });
    });
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
