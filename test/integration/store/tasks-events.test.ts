import type { Firestore } from '@google-cloud/firestore';
import { MalformedDocumentError } from '../../../functions/src/store/converter';
import { IngestionEventRepository } from '../../../functions/src/store/ingestion-events';
import { SourceRepository } from '../../../functions/src/store/sources';
import { TaskRepository } from '../../../functions/src/store/tasks';
import { gmailTask } from '../../support/builders';
import { freshFirestore } from '../../support/firestore';
import { createFirestore } from '../../../functions/src/store/firestore';
import { countFirestoreOps } from '../../../scripts/bench/firestore-ops';

const DAY_MS = 86_400_000;
let db: Firestore;
let projectId: string;

beforeAll(async () => {
  ({ db, projectId } = await freshFirestore());
});
afterAll(async () => {
  await db.terminate();
});

describe('task upserts', () => {
  it('writing the same task twice leaves one document', async () => {
    const tasks = new TaskRepository(db);
    await tasks.upsert('u1', [gmailTask('s1', 'm1')]);
    await tasks.upsert('u1', [gmailTask('s1', 'm1')]);
    const stored = await db.collection('users/u1/tasks').get();
    expect(stored.docs.map((d) => d.id)).toEqual(['s1:gmail:m1']);
  });

  it('an older externalUpdatedAt does not overwrite a newer one', async () => {
    const tasks = new TaskRepository(db);
    const newer = gmailTask('s1', 'm2', { status: 'archived', externalUpdatedAt: new Date('2026-11-24T12:00:00Z') });
    const older = gmailTask('s1', 'm2', { status: 'open', externalUpdatedAt: new Date('2026-11-24T11:00:00Z') });
    expect(await tasks.upsert('u1', [newer])).toEqual({ written: 1, stale: 0 });
    expect(await tasks.upsert('u1', [older])).toEqual({ written: 0, stale: 1 });
    expect((await tasks.get('u1', 's1', 'gmail', 'm2'))!.status).toBe('archived');
  });

  it('new tasks are created without a read; a set with one that exists is upserted whole, newer changes kept', async () => {
    const client = createFirestore(projectId);
    const ops = countFirestoreOps(client);
    const tasks = new TaskRepository(client);
    expect(await tasks.insertNew('u2', [gmailTask('s1', 'n1'), gmailTask('s1', 'n2')])).toEqual({ written: 2, stale: 0 });
    // Each task and its change event (the outbox entry), in one commit.
    expect(ops).toEqual({ reads: 0, writes: 4 });

    // Done again (a redone page): n2 exists with a newer change, n3 does not.
    await tasks.upsert('u2', [gmailTask('s1', 'n2', { status: 'archived', externalUpdatedAt: new Date('2026-11-25T12:00:00Z') })]);
    const again = [gmailTask('s1', 'n2', { externalUpdatedAt: new Date('2026-11-25T11:00:00Z') }), gmailTask('s1', 'n3')];
    expect(await tasks.insertNew('u2', again)).toEqual({ written: 1, stale: 1 });
    const stored = await db.collection('users/u2/tasks').get();
    expect(stored.docs.map((d) => [d.id, String(d.get('status'))]).sort()).toEqual([
      ['s1:gmail:n1', 'open'],
      ['s1:gmail:n2', 'archived'],
      ['s1:gmail:n3', 'open'],
    ]);
    await client.terminate();
  });

  it('a malformed stored task is an error naming the document', async () => {
    await db.doc('users/u1/tasks/s1:gmail:bad').set({ title: 42 });
    const tasks = new TaskRepository(db);
    const read = tasks.get('u1', 's1', 'gmail', 'bad');
    await expect(read).rejects.toBeInstanceOf(MalformedDocumentError);
    await expect(read).rejects.toThrow('users/u1/tasks/s1:gmail:bad');
  });

  it('a malformed source document names the document and the bad fields', async () => {
    await db.doc('sources/broken').set({ userId: 'u1', email: 'x@example.com', status: 'sleeping' });
    await expect(new SourceRepository(db).get('broken')).rejects.toThrow(/sources\/broken: status: .*createdAt/s);
  });
});

describe('ingestion events', () => {
  it('carry expireAt seven days after createdAt, and expired ones are hidden', async () => {
    const events = new IngestionEventRepository(db, 7 * DAY_MS);
    const base = {
      sourceId: 's-events',
      userId: 'u1',
      type: 'gmail' as const,
      trigger: 'push' as const,
      counts: { created: 1 },
      durationMs: 12,
      outcome: 'ok' as const,
      error: null,
    };
    const createdAt = new Date('2026-11-10T00:00:00Z');
    const recorded = await events.record({ ...base, createdAt });
    expect(recorded.expireAt.getTime() - createdAt.getTime()).toBe(7 * DAY_MS);
    await events.record({ ...base, createdAt: new Date('2026-11-20T00:00:00Z') });

    const now = new Date('2026-11-24T00:00:00Z');
    const visible = await events.listForSource('s-events', now);
    expect(visible.map((e) => e.createdAt.toISOString())).toEqual(['2026-11-20T00:00:00.000Z']);
    const stored = await db.collection('ingestion_events').where('sourceId', '==', 's-events').get();
    expect(stored.size).toBe(2);
  });
});
