import type { Firestore } from '@google-cloud/firestore';
import { LeaseLostError } from '../../../functions/src/engine/errors';
import { decideRecord, decideStepEnd } from '../../../functions/src/engine/source/lease';
import { NO_PENDING, type AnnouncedWork } from '../../../functions/src/engine/model';
import { SourceRepository } from '../../../functions/src/store/sources';
import { createFirestore } from '../../../functions/src/store/firestore';
import { freshFirestore } from '../../support/firestore';
import { sourceData } from '../../support/builders';
import { countFirestoreOps } from '../../../scripts/bench/firestore-ops';

const LEASE_MS = 30_000;
let db: Firestore;
let projectId: string;
let sources: SourceRepository;
/** Four "instances", each with its own Firestore client: contention between them is real. */
let instances: { db: Firestore; sources: SourceRepository }[];
const onInstance = (i: number) => instances[i % instances.length]!.sources;

beforeAll(async () => {
  ({ db, projectId } = await freshFirestore());
  sources = new SourceRepository(db);
  instances = Array.from({ length: 4 }, () => {
    const client = createFirestore(projectId);
    return { db: client, sources: new SourceRepository(client) };
  });
});
afterAll(async () => {
  await Promise.all([db, ...instances.map((i) => i.db)].map((client) => client.terminate()));
});

/** Step 1 of a run, as the runner applies it: one transaction. */
const record = (repo: SourceRepository, id: string, work: AnnouncedWork, owner: string, now: Date) =>
  repo.transition(id, now, (s) => decideRecord(s, work, owner, now, LEASE_MS));
/** The end of a run step: release, or claim what arrived and continue. */
const endStep = (repo: SourceRepository, id: string, owner: string, now: Date) =>
  repo.transition(id, now, (s) => decideStepEnd(s, { owner, now, leaseMs: LEASE_MS, claimed: NO_PENDING, giveUp: false }));

describe('the source lease', () => {
  it('lets exactly one of 20 concurrent attempts win, and another take over once it expires', async () => {
    await sources.create('s-lease', sourceData());
    const now = new Date('2026-11-24T10:00:00Z');

    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => record(onInstance(i), 's-lease', { gmail: String(2000 + i), calendar: false }, `worker-${i}`, now)),
    );
    expect(outcomes.filter((o) => o.kind === 'acquired')).toHaveLength(1);
    const holder = (await sources.get('s-lease'))!.lease!.owner;
    expect(holder).toMatch(/^worker-\d+$/);

    // Before `until` nobody else gets it; after, the next attempt does.
    expect((await record(sources, 's-lease', { gmail: '3000', calendar: false }, 'late', now)).kind).toBe('recorded');
    const later = new Date(now.getTime() + LEASE_MS + 1);
    const takeover = await record(sources, 's-lease', { gmail: '3001', calendar: false }, 'successor', later);
    expect(takeover).toEqual({ kind: 'acquired', claimed: { gmail: '3001', calendar: false, calendars: [] } });
    expect((await sources.get('s-lease'))!.lease!.owner).toBe('successor');

    // The old holder lost its lease: it can neither advance the cursor nor release the successor's lease.
    await expect(sources.advanceHistoryId('s-lease', holder, '9999', later, 60_000)).rejects.toBeInstanceOf(LeaseLostError);
    expect(await endStep(sources, 's-lease', holder, later)).toEqual({ kind: 'lost' });
    const stored = (await sources.get('s-lease'))!;
    expect(stored.historyId).toBe('1000');
    expect(stored.lease!.owner).toBe('successor');
  });

  it('sees all pending work recorded by 50 concurrent triggers, with pending.gmail at the maximum', async () => {
    await sources.create('s-pending', sourceData({ historyId: '100' }));
    const now = new Date('2026-11-24T10:00:00Z');
    const ids = Array.from({ length: 50 }, (_, i) => String(18446744073709551000n + BigInt(i * 7)));
    const shuffled = [...ids].sort(() => Math.random() - 0.5);

    const outcomes = await Promise.all(
      shuffled.map((id, i) => record(onInstance(i), 's-pending', { gmail: id, calendar: i % 10 === 0 }, `trigger-${i}`, now)),
    );
    const acquired = outcomes.filter((o) => o.kind === 'acquired');
    expect(acquired).toHaveLength(1);
    const owner = (await sources.get('s-pending'))!.lease!.owner;

    // What the winner claimed plus what the others recorded after it is everything announced.
    const first = await endStep(sources, 's-pending', owner, now);
    const claimed = [acquired[0]!, first].flatMap((o) => ('claimed' in o ? [o.claimed] : []));
    expect(claimed.map((c) => c.gmail).sort().pop()).toBe(ids[ids.length - 1]);
    expect(claimed.some((c) => c.calendar)).toBe(true);
    if (first.kind === 'continue') expect(await endStep(sources, 's-pending', owner, now)).toEqual({ kind: 'released' });
    const stored = (await sources.get('s-pending'))!;
    expect(stored.lease).toBeNull();
    expect(stored.pending).toEqual(NO_PENDING);
  });

  it('keeps the lease when work arrives during a run, so the holder loops', async () => {
    await sources.create('s-loop', sourceData());
    const now = new Date('2026-11-24T10:00:00Z');
    expect((await record(sources, 's-loop', { gmail: '1001', calendar: false }, 'holder', now)).kind).toBe('acquired');
    expect((await record(sources, 's-loop', { gmail: '1002', calendar: false }, 'other', now)).kind).toBe('recorded');
    expect(await endStep(sources, 's-loop', 'holder', now)).toEqual({ kind: 'continue', claimed: { gmail: '1002', calendar: false, calendars: [] } });
    expect(await endStep(sources, 's-loop', 'holder', now)).toEqual({ kind: 'released' });
  });

  it('records nothing for a history id the cursor already covers', async () => {
    await sources.create('s-old', sourceData({ historyId: '5000' }));
    const now = new Date('2026-11-24T10:00:00Z');
    expect((await record(sources, 's-old', { gmail: '4999', calendar: false }, 'w', now)).kind).toBe('nothing-new');
    const stored = (await sources.get('s-old'))!;
    expect(stored.lease).toBeNull();
    expect(stored.pending.gmail).toBeNull();
  });
});

describe('field-level writes', () => {
  it('keep a field that a newer version of the code added', async () => {
    await sources.create('s-newer', sourceData());
    await db.collection('sources').doc('s-newer').update({ addedByNewerVersion: { kept: true } });
    const now = new Date('2026-11-24T10:00:00Z');

    await record(sources, 's-newer', { gmail: '1001', calendar: true }, 'old-instance', now);
    await sources.advanceHistoryId('s-newer', 'old-instance', '1001', now, 60_000);
    await sources.update('s-newer', now, () => ({ consecutiveErrors: 2 }));
    await endStep(sources, 's-newer', 'old-instance', now);

    const raw = (await db.collection('sources').doc('s-newer').get()).data()!;
    expect(raw.addedByNewerVersion).toEqual({ kept: true });
    expect(raw.historyId).toBe('1001');
    expect(raw.consecutiveErrors).toBe(2);
    expect(raw.lease).toBeNull();
  });

  it('write nothing when a decision changes nothing', async () => {
    await sources.create('s-same', sourceData());
    const before = (await db.collection('sources').doc('s-same').get()).updateTime!;
    await sources.update('s-same', new Date(), (s) => ({ consecutiveErrors: s.consecutiveErrors }));
    const after = (await db.collection('sources').doc('s-same').get()).updateTime!;
    expect(after.isEqual(before)).toBe(true);
  });
});

describe('decisions on a remembered version', () => {
  it('are made again when another instance changed the source since this one saw it', async () => {
    const [mine, theirs] = [onInstance(0), onInstance(1)];
    await sources.create('s-moved', sourceData());
    const now = new Date('2026-11-24T10:00:00Z');
    await mine.get('s-moved');
    await theirs.update('s-moved', now, () => ({ consecutiveErrors: 3 }));
    // A decision on the remembered version would write 1 over their 3.
    await mine.update('s-moved', now, (s) => ({ consecutiveErrors: s.consecutiveErrors + 1 }));
    expect((await sources.get('s-moved'))!.consecutiveErrors).toBe(4);
  });

  it('cost a write and no read while nobody else writes the source', async () => {
    const client = createFirestore(projectId);
    const ops = countFirestoreOps(client);
    const repo = new SourceRepository(client);
    await sources.create('s-quiet', sourceData());
    const now = new Date('2026-11-24T10:00:00Z');
    await repo.get('s-quiet');
    expect(await record(repo, 's-quiet', { gmail: '1001', calendar: false }, 'me', now)).toMatchObject({ kind: 'acquired' });
    expect(await endStep(repo, 's-quiet', 'me', now)).toEqual({ kind: 'released' });
    expect(ops).toEqual({ reads: 1, writes: 2 });
    await client.terminate();
  });

  it('trust a decision to write nothing only on a fresh read', async () => {
    const [mine, theirs] = [onInstance(2), onInstance(3)];
    await sources.create('s-fresh', sourceData({ historyId: '1000' }));
    const now = new Date('2026-11-24T10:00:00Z');
    await mine.get('s-fresh');
    await theirs.update('s-fresh', now, () => ({ historyId: '900' }));
    // On the remembered version (cursor 1000) this work would look covered.
    expect((await record(mine, 's-fresh', { gmail: '950', calendar: false }, 'me', now)).kind).toBe('acquired');
  });
});

describe('the Gmail cursor', () => {
  it('only moves forward, compared as uint64', async () => {
    await sources.create('s-cursor', sourceData({ historyId: '9007199254740993' }));
    const now = new Date('2026-11-24T10:00:00Z');
    await record(sources, 's-cursor', { gmail: '9007199254740999', calendar: false }, 'h', now);

    expect(await sources.advanceHistoryId('s-cursor', 'h', '9007199254740992', now, 60_000)).toBe(false);
    expect((await sources.get('s-cursor'))!.historyId).toBe('9007199254740993');
    expect(await sources.advanceHistoryId('s-cursor', 'h', '9007199254740995', now, 60_000)).toBe(true);
    expect((await sources.get('s-cursor'))!.historyId).toBe('9007199254740995');
  });
});

describe('the expiring-watches scan', () => {
  it('finds a missing primary-calendar channel only on a source that syncs the primary calendar', async () => {
    const later = new Date('2026-12-30T10:00:00Z');
    const synced = { channelId: 'c-work', resourceId: 'r-work', channelExpiration: later, syncToken: 't', horizon: null, syncErrors: 0, checkedAt: later };
    const watched = { watchExpiration: later, calendarChannelExpiration: null, otherCalendarsRenewBy: later };
    await sources.create('s-primary-unwatched', sourceData({ ...watched, calendarSelection: 'primary' }));
    await sources.create('s-primary-dropped', sourceData({ ...watched, calendarSelection: ['work'], calendars: { work: synced } }));
    const found: string[] = [];
    for await (const source of sources.watchesExpiringBefore(new Date('2026-12-01T10:00:00Z'))) found.push(source.id);
    expect(found.filter((id) => id.startsWith('s-primary-'))).toEqual(['s-primary-unwatched']);
  });
});
