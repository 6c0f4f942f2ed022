import type { Firestore } from '@google-cloud/firestore';
import { sealedTokenSchema, type SealedToken } from '../contracts/sealed-token';
import { sourceSecretSchema, type SourceSecret } from '../engine/model';
import type { SecretStore } from '../engine/account/ports';
import { zodConverter } from './converter';
import { LruMap } from '../lru-map';
import { COLLECTIONS } from './firestore';

// Channel token hashes an instance remembers; the oldest beyond this are forgotten.
const MAX_REMEMBERED_CHANNEL_HASHES = 1000;

/** Secrets live apart from `sources` so that security rules can deny every client read. */
export class SourceSecretRepository implements SecretStore {
  constructor(private readonly db: Firestore) {}

  /**
   * A channel's token hash never changes (a renewed channel gets a new id, and a stopped
   * channel's index entry goes first, so its pushes end at the lookup): read once per instance.
   */
  private readonly channelHashes = new LruMap<string, string>(MAX_REMEMBERED_CHANNEL_HASHES);

  private ref(sourceId: string) {
    return this.db.collection(COLLECTIONS.sourceSecrets).withConverter(zodConverter(sourceSecretSchema)).doc(sourceId);
  }

  async get(sourceId: string): Promise<SourceSecret | null> {
    return (await this.ref(sourceId).get()).data() ?? null;
  }

  /**
   * Replaces the refresh token alone, in one atomic field-level write: channel token hashes
   * added concurrently are kept (a read-then-overwrite could lose one).
   */
  async putRefreshToken(sourceId: string, sealed: SealedToken): Promise<void> {
    const refreshToken = sealedTokenSchema.parse(sealed);
    await this.db.collection(COLLECTIONS.sourceSecrets).doc(sourceId).set({ refreshToken }, { mergeFields: ['refreshToken'] });
  }

  /**
   * Replaces a sealed token only if it is still the one that was read (a reconnect meanwhile
   * wins); false when it changed.
   */
  async replaceRefreshToken(sourceId: string, expected: SealedToken, next: SealedToken): Promise<boolean> {
    return this.db.runTransaction(async (tx) => {
      const current = (await tx.get(this.ref(sourceId))).data()?.refreshToken;
      if (current?.ciphertext !== expected.ciphertext || current.sealedKey !== expected.sealedKey) return false;
      tx.update(this.db.collection(COLLECTIONS.sourceSecrets).doc(sourceId), { refreshToken: sealedTokenSchema.parse(next) });
      return true;
    });
  }

  /** Every stored secret, for the key-rotation command. */
  async *all(): AsyncIterable<{ sourceId: string; secret: SourceSecret }> {
    for (const doc of (await this.db.collection(COLLECTIONS.sourceSecrets).withConverter(zodConverter(sourceSecretSchema)).get()).docs) {
      yield { sourceId: doc.id, secret: doc.data() };
    }
  }

  async delete(sourceId: string): Promise<void> {
    await this.ref(sourceId).delete();
  }

  async addChannelTokenHash(sourceId: string, channelId: string, hash: string): Promise<void> {
    await this.db.runTransaction(async (tx) => {
      const snap = await tx.get(this.ref(sourceId));
      const current = snap.data() ?? { refreshToken: null, channelTokenHashes: {} };
      tx.set(this.ref(sourceId), { ...current, channelTokenHashes: { ...current.channelTokenHashes, [channelId]: hash } });
    });
  }

  async channelTokenHash(sourceId: string, channelId: string): Promise<string | null> {
    const key = `${sourceId}/${channelId}`;
    const remembered = this.channelHashes.get(key);
    if (remembered !== undefined) return remembered;
    const hash = (await this.get(sourceId))?.channelTokenHashes[channelId] ?? null;
    if (hash !== null) this.channelHashes.set(key, hash);
    return hash;
  }

  async removeChannelTokenHash(sourceId: string, channelId: string): Promise<void> {
    await this.db.runTransaction(async (tx) => {
      const snap = await tx.get(this.ref(sourceId));
      const current = snap.data();
      if (!current || !(channelId in current.channelTokenHashes)) return;
      const { [channelId]: _removed, ...rest } = current.channelTokenHashes;
      tx.set(this.ref(sourceId), { ...current, channelTokenHashes: rest });
    });
  }
}
