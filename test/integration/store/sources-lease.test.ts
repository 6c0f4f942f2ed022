import type { Firestore } from '@google-cloud/firestore';
import { LeaseLostError, SourceRepository } from '../../../functions/src/store/sources';
import { createFirestore } from '../../../functions/src/store/firestore';
import { freshFirestore } from '../../support/firestore';
import { sourceData } from '../../support/builders';

const LEASE_MS = 30_000;
let db: Firestore;
let sources: SourceRepository;
/** Four "instances", each with its own Firestore client: contention between them is real. */
let instances: { db: Firestore; sources: SourceRepository }[];
const onInstance = (i: number) => instances[i % instances.length]!.sources;

beforeAll(async () => {
  let projectId: string;
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

describe('the source lease', () => {
  it('lets exactly one of 20 concurrent attempts win, and another take over once it expires', async () => {
    await sources.create('s-lease', sourceData());
    const now = new Date('2026-11-24T10:00:00Z');

    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        onInstance(i).recordPending('s-lease', { gmail: String(2000 + i), calendar: false }, `worker-${i}`, now, LEASE_MS),
      ),
    );
    const winners = outcomes.filter((o) => o.kind === 'acquired');
    expect(winners).toHaveLength(1);
    const holder = (await sources.get('s-lease'))!.lease!.owner;
    expect(holder).toMatch(/^worker-\d+$/);

    // Before `until` nobody else gets it; after, the next attempt does.
    const tooEarly = await sources.recordPending('s-lease', { gmail: '3000', calendar: false }, 'late', now, LEASE_MS);
    expect(tooEarly.kind).toBe('recorded');
    const later = new Date(now.getTime() + LEASE_MS + 1);
    const takeover = await sources.recordPending('s-lease', { gmail: '3001', calendar: false }, 'successor', later, LEASE_MS);
    expect(takeover.kind).toBe('acquired');
    expect((await sources.get('s-lease'))!.lease!.owner).toBe('successor');

    // The old holder lost its lease: it can neither advance the cursor nor claim work.
    await expect(sources.advanceHistoryId('s-lease', holder, '9999', later)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(sources.claimPending('s-lease', holder, later, LEASE_MS)).rejects.toBeInstanceOf(LeaseLostError);
    expect((await sources.get('s-lease'))!.historyId).toBe('1000');
  });

  it('sees all pending work recorded by 50 concurrent triggers, with pending.gmail at the maximum', async () => {
    await sources.create('s-pending', sourceData({ historyId: '100' }));
    const now = new Date('2026-11-24T10:00:00Z');
    const ids = Array.from({ length: 50 }, (_, i) => String(18446744073709551000n + BigInt(i * 7)));
    const shuffled = [...ids].sort(() => Math.random() - 0.5);

    const outcomes = await Promise.all(
      shuffled.map((id, i) =>
        onInstance(i).recordPending('s-pending', { gmail: id, calendar: i % 10 === 0 }, `trigger-${i}`, now, LEASE_MS),
      ),
    );
    expect(outcomes.filter((o) => o.kind === 'acquired')).toHaveLength(1);
    const owner = (await sources.get('s-pending'))!.lease!.owner;

    const { pending } = await sources.claimPending('s-pending', owner, now, LEASE_MS);
    expect(pending.gmail).toBe(ids[ids.length - 1]);
    expect(pending.calendar).toBe(true);
    expect((await sources.get('s-pending'))!.pending).toEqual({ gmail: null, calendar: false });
    expect(await sources.releaseOrContinue('s-pending', owner, now, LEASE_MS)).toBe('released');
    expect((await sources.get('s-pending'))!.lease).toBeNull();
  });

  it('keeps the lease when work arrives during a run, so the holder loops', async () => {
    await sources.create('s-loop', sourceData());
    const now = new Date('2026-11-24T10:00:00Z');
    await sources.recordPending('s-loop', { gmail: '1001', calendar: false }, 'holder', now, LEASE_MS);
    await sources.claimPending('s-loop', 'holder', now, LEASE_MS);
    const meanwhile = await sources.recordPending('s-loop', { gmail: '1002', calendar: false }, 'other', now, LEASE_MS);
    expect(meanwhile.kind).toBe('recorded');
    expect(await sources.releaseOrContinue('s-loop', 'holder', now, LEASE_MS)).toBe('continue');
    expect((await sources.claimPending('s-loop', 'holder', now, LEASE_MS)).pending.gmail).toBe('1002');
    expect(await sources.releaseOrContinue('s-loop', 'holder', now, LEASE_MS)).toBe('released');
  });

  it('records nothing for a history id the cursor already covers', async () => {
    await sources.create('s-old', sourceData({ historyId: '5000' }));
    const now = new Date('2026-11-24T10:00:00Z');
    const outcome = await sources.recordPending('s-old', { gmail: '4999', calendar: false }, 'w', now, LEASE_MS);
    expect(outcome.kind).toBe('nothing-new');
    const stored = (await sources.get('s-old'))!;
    expect(stored.lease).toBeNull();
    expect(stored.pending.gmail).toBeNull();
  });
});

describe('the Gmail cursor', () => {
  it('only moves forward, compared as uint64', async () => {
    await sources.create('s-cursor', sourceData({ historyId: '9007199254740993' }));
    const now = new Date('2026-11-24T10:00:00Z');
    await sources.recordPending('s-cursor', { gmail: '9007199254740999', calendar: false }, 'h', now, LEASE_MS);

    expect(await sources.advanceHistoryId('s-cursor', 'h', '9007199254740992', now)).toBe(false);
    expect((await sources.get('s-cursor'))!.historyId).toBe('9007199254740993');
    expect(await sources.advanceHistoryId('s-cursor', 'h', '9007199254740995', now)).toBe(true);
    expect((await sources.get('s-cursor'))!.historyId).toBe('9007199254740995');
  });
});
