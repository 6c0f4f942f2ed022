import type { DocumentSnapshot, Firestore, Query, QueryDocumentSnapshot } from '@google-cloud/firestore';
import type { AuditStore } from '../engine/audit/audit';
import { auditRecordSchema, sourceSchema, taskIdFor, taskSchema, type AuditRecord, type Source, type SourceData, type Task, type TaskOrigin } from '../engine/model';
import { zodConverter } from './converter';
import { COLLECTIONS } from './firestore';

/**
 * The completeness audit's reads and records: which sources are due (indexed on
 * `status` + `lastAuditAt`), our tasks for the ids Google listed (one batched read per page),
 * the window's open tasks (indexed on `sourceId` + `origin` + `status` + `updatedAt`), and one
 * `audits/{sourceId}:{startedAt}` document per source and run (`expireAt` for a TTL policy).
 * Task writes never happen here: the audit repairs through the TaskRepository.
 */

const PAGE_SIZE = 200;

export class AuditRepository implements AuditStore {
  constructor(private readonly db: Firestore) {}

  private sources() {
    return this.db.collection(COLLECTIONS.sources).withConverter(zodConverter(sourceSchema));
  }

  private tasks(userId: string) {
    return this.db.collection(COLLECTIONS.users).doc(userId).collection(COLLECTIONS.tasks).withConverter(zodConverter(taskSchema));
  }

  private records() {
    return this.db.collection(COLLECTIONS.audits).withConverter(zodConverter(auditRecordSchema));
  }

  async *dueForAudit(cutoff: Date): AsyncIterable<Source> {
    const active = this.sources().where('status', '==', 'active');
    yield* this.scan(active.where('lastAuditAt', '<', cutoff).orderBy('lastAuditAt'));
    yield* this.scan(active.where('lastAuditAt', '==', null));
  }

  private async *scan(query: Query<SourceData>): AsyncIterable<Source> {
    let last: QueryDocumentSnapshot<SourceData> | undefined;
    for (;;) {
      const page = await (last ? query.startAfter(last) : query).limit(PAGE_SIZE).get();
      for (const doc of page.docs) yield { id: doc.id, ...doc.data() };
      if (page.size < PAGE_SIZE) return;
      last = page.docs[page.docs.length - 1];
    }
  }

  async tasksByIds(userId: string, sourceId: string, origin: TaskOrigin, externalIds: readonly string[], calendarId?: string): Promise<Map<string, Task>> {
    const found = new Map<string, Task>();
    if (externalIds.length === 0) return found;
    const refs = externalIds.map((id) => this.tasks(userId).doc(taskIdFor(sourceId, origin, id, calendarId)));
    // getAll reads through each reference's converter; its signature just forgets the type.
    const snaps = (await this.db.getAll(...refs)) as DocumentSnapshot<Task>[];
    for (const snap of snaps) {
      const task = snap.data();
      if (task) found.set(task.externalId, task);
    }
    return found;
  }

  async openTasksUpdatedSince(userId: string, sourceId: string, origin: TaskOrigin, since: Date): Promise<Task[]> {
    const snap = await this.tasks(userId)
      .where('sourceId', '==', sourceId)
      .where('origin', '==', origin)
      .where('status', '==', 'open')
      .where('updatedAt', '>=', since)
      .get();
    return snap.docs.map((d) => d.data());
  }

  async record(record: AuditRecord): Promise<void> {
    await this.records().doc(`${record.sourceId}:${record.startedAt.getTime()}`).set(record);
  }

  /** A source's audit records, newest first (operators, tests). */
  async listForSource(sourceId: string, limit = 10): Promise<AuditRecord[]> {
    const snap = await this.records().where('sourceId', '==', sourceId).orderBy('startedAt', 'desc').limit(limit).get();
    return snap.docs.map((d) => d.data());
  }
}
