import type { Firestore } from '@google-cloud/firestore';
import { SOURCE_STATUS_CHANGED } from '../../../functions/src/contracts/change-events';
import { renewalFinished } from '../../../functions/src/engine/source/decisions';
import type { OutboxEntry } from '../../../functions/src/store/change-outbox';
import { SourceRepository } from '../../../functions/src/store/sources';
import { freshFirestore } from '../../support/firestore';
import { sourceData } from '../../support/builders';

/**
 * A status change's event is published after the write that staged it, outside the source's
 * mutex: a publish that hangs holds up only the call that wrote it.
 */

let db: Firestore;
beforeAll(async () => {
  ({ db } = await freshFirestore());
});
afterAll(() => db.terminate());

it("a publish that hangs does not block the source's next write (the holder's lease extension); the writer still awaits it", async () => {
  const now = new Date('2026-12-07T10:00:00Z');
  const leaseMs = 30_000;
  // Publishing hangs from the first status change after the source exists, until the test finishes it.
  let armed = false;
  let hanging: { entries: readonly OutboxEntry[]; finish: () => void } | null = null;
  let started!: () => void;
  const deliveryStarted = new Promise<void>((resolve) => (started = resolve));
  const deliver = (entries: readonly OutboxEntry[]) =>
    armed
      ? new Promise<void>((finish) => {
          hanging = { entries, finish };
          started();
        })
      : Promise.resolve();
  const sources = new SourceRepository(db, undefined, deliver);
  await sources.create('s-publish', sourceData({ lease: { owner: 'holder', until: new Date(now.getTime() + leaseMs) } }));
  armed = true;

  // A failed renewal turns the status degraded: its event is staged with the write, then published.
  let writerReturned = false;
  const statusWrite = sources.transition('s-publish', now, renewalFinished('watch renewal failed')).then(() => (writerReturned = true));
  await deliveryStarted;
  expect(hanging!.entries.map((e) => e.type)).toEqual([SOURCE_STATUS_CHANGED]);

  const later = new Date(now.getTime() + 10_000);
  await sources.extendLease('s-publish', 'holder', later, leaseMs);
  expect((await sources.get('s-publish'))!).toMatchObject({ status: 'degraded', lease: { owner: 'holder', until: new Date(later.getTime() + leaseMs) } });
  expect(writerReturned).toBe(false);

  hanging!.finish();
  await statusWrite;
  expect(writerReturned).toBe(true);
});
