import type { Firestore } from '@google-cloud/firestore';
import { isRepeatedMessage } from '../../../functions/src/engine/calendar/notifications';
import { ChannelRepository } from '../../../functions/src/store/channels';
import { createFirestore } from '../../../functions/src/store/firestore';
import { freshFirestore } from '../../support/firestore';

/**
 * The channel document under a burst of notifications: numbers are recorded without a
 * transaction (a burst used to queue on the document for seconds, and its pushes reached the
 * runner spread out, costing extra events.list runs), yet every number of the burst is kept.
 */

let db: Firestore;
let channels: ChannelRepository;
/** Four "instances", each with its own client, as concurrent calendarPush instances would be. */
let instances: { db: Firestore; channels: ChannelRepository }[];

beforeAll(async () => {
  let projectId: string;
  ({ db, projectId } = await freshFirestore());
  channels = new ChannelRepository(db);
  instances = Array.from({ length: 4 }, () => {
    const client = createFirestore(projectId);
    return { db: client, channels: new ChannelRepository(client) };
  });
});
afterAll(async () => {
  await Promise.all([db, ...instances.map((i) => i.db)].map((client) => client.terminate()));
});

const newChannel = (sourceId: string) => ({ sourceId, resourceId: 'res-1', confirmedAt: null, createdAt: new Date('2026-11-25T00:00:00Z') });

describe('ChannelRepository', () => {
  it('remembers every number of a concurrent burst, whatever order it lands in', async () => {
    await channels.put('ch-burst', newChannel('src-1'));
    const numbers = Array.from({ length: 20 }, (_, i) => i + 2);
    const order = [numbers[19]!, ...numbers.slice(0, 19).reverse()];
    await Promise.all(order.map((n, i) => instances[i % instances.length]!.channels.recordMessageNumber('ch-burst', n)));
    const stored = (await channels.get('ch-burst'))!;
    expect(numbers.filter((n) => !isRepeatedMessage(stored, n))).toEqual([]);
    expect(isRepeatedMessage(stored, 22)).toBe(false);
  });

  it('confirms a channel once, keeping the numbers already recorded', async () => {
    await channels.put('ch-sync', newChannel('src-2'));
    await channels.recordMessageNumber('ch-sync', 7);
    const now = new Date('2026-11-25T01:00:00Z');
    const results = await Promise.all(instances.map((i) => i.channels.confirm('ch-sync', 1, now)));
    expect(results.filter(Boolean)).toHaveLength(1);
    const stored = (await channels.get('ch-sync'))!;
    expect(stored.confirmedAt).toEqual(now);
    expect([1, 7].map((n) => isRepeatedMessage(stored, n))).toEqual([true, true]);
  });

  it('ignores a notification number for a channel deleted meanwhile', async () => {
    await channels.put('ch-gone', newChannel('src-3'));
    await channels.delete('ch-gone');
    await expect(channels.recordMessageNumber('ch-gone', 5)).resolves.toBeUndefined();
    expect(await channels.get('ch-gone')).toBeNull();
  });
});
