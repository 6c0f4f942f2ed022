import { FieldValue, GrpcStatus, type DocumentSnapshot, type Firestore, type Query, type QueryDocumentSnapshot, type Timestamp, type UpdateData } from '@google-cloud/firestore';
import { calendarPushRecorded } from '../engine/source/decisions';
import { changedFields, type Decision } from '../engine/source/lease';
import { LeaseWritesThroughDecisions } from '../engine/source/lease-writes';
import type { SourceDecision } from '../engine/source/decisions';
import { DEFAULT_STATUS_SETTINGS, statusDerivation, withDerivedStatus, type StatusSettings } from '../engine/source/status';
import { mailboxKey } from '../engine/account/connect';
import { PRIMARY_CALENDAR, sourceSchema, type Source, type SourceData } from '../engine/model';
import { syncedCalendars } from '../engine/calendar/state';
import type { SourceQueries, SourceStore } from '../engine/source/ports';
import { sourceStatusEvent } from '../contracts/change-events';
import { statusChanged } from '../engine/stream/changes';
import { ChangeOutbox, type DeliverChanges, type OutboxEntry } from './change-outbox';
import { zodConverter } from './converter';
import { KeyedMutex } from './keyed-mutex';
import { LruMap } from '../lru-map';
import { COLLECTIONS, failedWith } from './firestore';

type SourcePatchWithStamp = Partial<SourceData> & { updatedAt: Date };

export class SourceNotFoundError extends Error {
  constructor(readonly sourceId: string) {
    super(`Source ${sourceId} does not exist`);
    this.name = 'SourceNotFoundError';
  }
}

// Many triggers race on one source document: a decision made on a version another writer
// replaced meanwhile is made again on the new one, this many times at most.
const MAX_ATTEMPTS = 30;
const CONFLICT_BACKOFF_MS = 10;
const CONFLICT_BACKOFF_MAX_MS = 500;
// Sources whose last seen version an instance remembers; the oldest beyond this are forgotten.
const MAX_KNOWN = 2000;

/** A source as stored at one version (its update time). */
interface Known {
  version: Timestamp;
  source: Source;
}

const LIVE_STATUSES = ['active', 'degraded'];
const SCAN_PAGE_SIZE = 200;

export class SourceRepository extends LeaseWritesThroughDecisions implements SourceStore, SourceQueries {
  private readonly outbox: ChangeOutbox;

  /** `deliver` publishes the status events a write staged; without it (or when it fails) the sweep does. */
  constructor(
    private readonly db: Firestore,
    private readonly statusSettings: StatusSettings = DEFAULT_STATUS_SETTINGS,
    private readonly deliver?: DeliverChanges,
  ) {
    super();
    this.outbox = new ChangeOutbox(db);
  }

  private collection() {
    return this.db.collection(COLLECTIONS.sources).withConverter(zodConverter(sourceSchema));
  }

  private ref(id: string) {
    return this.collection().doc(id);
  }

  private readonly mutex = new KeyedMutex();
  /** The version of each source this instance last read or wrote, for decisions without a read. */
  private readonly known = new LruMap<string, Known>(MAX_KNOWN);

  private remember(snap: DocumentSnapshot<SourceData>): Known | null {
    const data = snap.data();
    if (!data || !snap.updateTime) return null;
    const known = { version: snap.updateTime, source: { id: snap.id, ...data } };
    this.rememberVersion(known.source, known.version);
    return known;
  }

  private rememberVersion(source: Source, version: Timestamp): void {
    // A read that was overtaken by a later write of this instance does not set it back.
    const remembered = this.known.get(source.id);
    if (remembered !== undefined && remembered.version.valueOf() > version.valueOf()) return;
    this.known.set(source.id, { version, source });
  }

  async get(id: string): Promise<Source | null> {
    return (await this.read(id))?.source ?? null;
  }

  async create(id: string, data: SourceData): Promise<void> {
    const batch = this.db.batch();
    const first = { ...data, statusVersion: data.statusVersion + 1 };
    batch.create(this.ref(id), first);
    const entry = this.outbox.stage(batch, statusEventOf({ id, ...first }), data.updatedAt);
    await batch.commit();
    await this.deliver?.([entry]);
  }

  /**
   * Applies an engine decision atomically: decide on a version of the source, then write only
   * the fields the decision changed (a field-level update, so a field unknown to this version
   * survives) on condition that the document is still at that version; if another writer got
   * there first, decide again on the new version. The version is the one this instance last
   * read or wrote when it has one, so a run's steps (record, end) usually cost a write and no
   * read. A decision to write nothing is only trusted on a fresh read.
   */
  transition<T>(id: string, now: Date, decide: SourceDecision<T>): Promise<T> {
    const derive = statusDerivation(now, this.statusSettings);
    return this.apply(id, now, (source) => decide(source, derive), true);
  }

  /**
   * The conditional write of `transition`; `deriveStatus` false writes the patch as decided
   * (fixtures). The status event it staged is published once the source's mutex is released:
   * a publish that hangs holds up this call, never the source's next write (a lease extension).
   */
  private async apply<T>(id: string, now: Date, decide: (source: Source) => Decision<T>, deriveStatus: boolean): Promise<T> {
    const { result, staged } = await this.mutex.run(id, () => this.decideAndWrite(id, now, decide, deriveStatus));
    if (staged !== null) await this.deliver?.([staged]);
    return result;
  }

  /** Decides and writes until the write holds; the outbox entry its commit staged, if any. */
  private async decideAndWrite<T>(id: string, now: Date, decide: (source: Source) => Decision<T>, deriveStatus: boolean): Promise<{ result: T; staged: OutboxEntry | null }> {
    for (let attempt = 1; ; attempt += 1) {
      const remembered = this.known.get(id);
      const current = remembered ?? (await this.read(id));
      if (current === null) throw new SourceNotFoundError(id);
      let decision: Decision<T>;
      try {
        decision = decide(current.source);
      } catch (error) {
        // Perhaps only true of a stale version: decide again on a fresh one.
        if (remembered === undefined) throw error;
        this.known.delete(id);
        continue;
      }
      const { patch, result } = decision;
      if (patch === null) {
        if (remembered === undefined) return { result, staged: null };
        this.known.delete(id);
        continue;
      }
      const written = deriveStatus ? withDerivedStatus(current.source, patch, now, this.statusSettings) : patch;
      const commit = await this.writeIfUnchanged(current, { ...written, updatedAt: now });
      if (commit !== 'moved-on') return { result, staged: commit.staged };
      if (attempt >= MAX_ATTEMPTS) throw new Error(`Source ${id} kept changing: gave up after ${MAX_ATTEMPTS} attempts`);
      await conflictBackoff(attempt);
    }
  }

  /** A fresh read: the version this call fetched (another call may remember another meanwhile). */
  private async read(id: string): Promise<Known | null> {
    return this.remember(await this.ref(id).get());
  }

  /**
   * The conditional write; `moved-on` (and the version forgotten) when the document moved on. A
   * write that changes the status stages its event and the next status version in the same
   * commit, and hands the entry back for publishing.
   */
  private async writeIfUnchanged(current: Known, decided: SourcePatchWithStamp): Promise<{ staged: OutboxEntry | null } | 'moved-on'> {
    const { id } = current.source;
    const changesStatus = statusChanged(current.source, { ...current.source, ...decided });
    const patch = changesStatus ? { ...decided, statusVersion: current.source.statusVersion + 1 } : decided;
    const batch = this.db.batch().update(this.ref(id), patch as UpdateData<SourceData>, { lastUpdateTime: current.version });
    const entry = changesStatus ? this.outbox.stage(batch, statusEventOf({ ...current.source, ...patch }), decided.updatedAt) : null;
    try {
      const [written] = await batch.commit();
      this.rememberVersion({ ...current.source, ...patch }, written!.writeTime);
    } catch (error) {
      this.known.delete(id);
      if (failedWith(error, GrpcStatus.FAILED_PRECONDITION)) return 'moved-on';
      if (failedWith(error, GrpcStatus.NOT_FOUND)) throw new SourceNotFoundError(id);
      throw error;
    }
    return { staged: entry };
  }

  /**
   * Writes fields as given, status included (not re-derived): for tests and tools that set up
   * a source's state. The engine writes only through decisions (`transition`).
   */
  update(id: string, now: Date, change: (source: Source) => Partial<SourceData>): Promise<Source> {
    return this.apply(id, now, (current) => {
      const next = { ...current, ...change(current) };
      const patch = changedFields(current, next);
      return { patch, result: patch === null ? current : { ...next, updatedAt: now } };
    }, false);
  }

  /** Creates the source unless it exists; false when another writer created it first. */
  async createIfAbsent(id: string, data: SourceData): Promise<boolean> {
    try {
      await this.create(id, data);
      return true;
    } catch (error) {
      if (failedWith(error, GrpcStatus.ALREADY_EXISTS)) return false;
      throw error;
    }
  }

  /**
   * Sources on a mailbox, whatever the case of `email`: sources store the address in lower
   * case (`mailboxKey`); one written before that keeps Google's spelling, also asked for.
   * Queries are strongly consistent: what they return is remembered like a read.
   */
  async findByEmail(email: string): Promise<Source[]> {
    const spellings = [...new Set([mailboxKey(email), email])];
    const snap = await this.collection().where('email', 'in', spellings).get();
    return snap.docs.map((d) => this.remember(d)!.source);
  }

  async listByUser(userId: string): Promise<Source[]> {
    const snap = await this.collection().where('userId', '==', userId).get();
    return snap.docs.map((d) => ({ id: d.id, ...d.data() }));
  }

  /** Applies `calendarPushRecorded` (engine/source/decisions.ts): a blind field write, no transaction. */
  async markCalendarPending(id: string, calendarId: string, now: Date): Promise<{ needsRun: boolean }> {
    const snapshot = await this.get(id);
    if (!snapshot) throw new SourceNotFoundError(id);
    const { write, needsRun } = calendarPushRecorded(snapshot, calendarId, now);
    if (write === null) return { needsRun };
    this.known.delete(id);
    await this.db
      .collection(COLLECTIONS.sources)
      .doc(id)
      .update({ 'pending.calendars': FieldValue.arrayUnion(calendarId), updatedAt: now, ...(write.stampPush && { lastPushAt: now }) });
    return { needsRun };
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
      for await (const source of this.scan(this.live().where(field, '==', null))) {
        // A source that stopped syncing its primary calendar has no channel there, and needs none.
        if (field === 'watchExpiration' || syncedCalendars(source).includes(PRIMARY_CALENDAR)) yield source;
      }
    }
    // `null` there: only the primary calendar syncs, its channel is the field above.
    yield* this.scan(this.live().where('otherCalendarsRenewBy', '<', cutoff).orderBy('otherCalendarsRenewBy'));
  }

  async *notCheckedSince(cutoff: Date): AsyncIterable<Source> {
    yield* this.scan(this.live().where('lastCheckAt', '<', cutoff).orderBy('lastCheckAt'));
    yield* this.scan(this.live().where('lastCheckAt', '==', null));
  }

  async *calendarsNotCheckedSince(cutoff: Date): AsyncIterable<Source> {
    yield* this.scan(this.live().where('calendarsCheckedBy', '<', cutoff).orderBy('calendarsCheckedBy'));
  }

  async *leaseExpiredBefore(now: Date): AsyncIterable<Source> {
    yield* this.scan(this.live().where('lease.until', '<', now).orderBy('lease.until'));
  }
}

/** Full jitter, so that instances that collided do not collide again in step. */
function conflictBackoff(attempt: number): Promise<void> {
  const ceiling = Math.min(CONFLICT_BACKOFF_MAX_MS, CONFLICT_BACKOFF_MS * 2 ** (attempt - 1));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

function statusEventOf(source: Source) {
  const { userId, id: sourceId, email, status, statusReason: reason, polling, statusVersion: version } = source;
  return sourceStatusEvent({ userId, sourceId, email, status, reason, polling, version }, source.updatedAt);
}
