import { createHash } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import * as z from 'zod';
import { sealedTokenSchema } from '../contracts/sealed-token';
import type { ConnectState, ConnectStateStore, StagedGrant } from '../engine/account/ports';
import { zodConverter } from './converter';

/**
 * `connectStates/{sha256}`: flows in progress (keyed by the OAuth `state`) and grants waiting
 * for confirmation (keyed by the link id), stored by hash so a leaked row cannot be replayed;
 * single-use, and expiring at `expireAt`, the field of the collection's TTL policy (reads
 * check it too, since TTL deletes lazily).
 */

const entrySchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('state'),
    userId: z.string().min(1),
    loginHint: z.string().nullable(),
    browserNonceHash: z.string().regex(/^[0-9a-f]{64}$/),
    codeVerifier: z.string().min(43).max(128),
    createdAt: z.date(),
    expireAt: z.date(),
  }),
  z.object({ kind: z.literal('link'), userId: z.string().min(1), email: z.string().min(3), sealedToken: sealedTokenSchema, createdAt: z.date(), expireAt: z.date() }),
]);
type Entry = z.infer<typeof entrySchema>;

const COLLECTION = 'connectStates';

export class ConnectStateRepository implements ConnectStateStore {
  constructor(private readonly db: Firestore) {}

  private ref(kind: Entry['kind'], secret: string) {
    const id = createHash('sha256').update(`${kind}:${secret}`, 'utf8').digest('hex');
    return this.db.collection(COLLECTION).withConverter(zodConverter(entrySchema)).doc(id);
  }

  async save(state: string, entry: ConnectState): Promise<void> {
    await this.ref('state', state).create({ kind: 'state', ...entry });
  }

  async consume(state: string, now: Date, accept: (entry: ConnectState) => boolean = () => true): Promise<ConnectState | null> {
    return this.db.runTransaction(async (tx) => {
      const ref = this.ref('state', state);
      const entry = (await tx.get(ref)).data();
      if (!entry || entry.kind !== 'state') return null;
      const { kind: _kind, ...rest } = entry;
      if (!accept(rest)) return null;
      tx.delete(ref);
      return entry.expireAt > now ? rest : null;
    });
  }

  async stage(linkId: string, grant: StagedGrant): Promise<void> {
    await this.ref('link', linkId).create({ kind: 'link', ...grant });
  }

  async staged(linkId: string, userId: string, now: Date, consume: boolean): Promise<StagedGrant | null> {
    return this.db.runTransaction(async (tx) => {
      const ref = this.ref('link', linkId);
      const entry = (await tx.get(ref)).data();
      // Another user's link is as good as unknown, and stays for its owner.
      if (!entry || entry.kind !== 'link' || entry.userId !== userId) return null;
      if (consume || entry.expireAt <= now) tx.delete(ref);
      const { kind: _kind, ...grant } = entry;
      return entry.expireAt > now ? grant : null;
    });
  }
}
