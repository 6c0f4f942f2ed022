import type { Firestore } from '@google-cloud/firestore';
import { sourceSecretSchema, type SourceSecret } from '../engine/model';
import { zodConverter } from './converter';
import { COLLECTIONS } from './firestore';

/** Secrets live apart from `sources` so that security rules can deny every client read. */
export class SourceSecretRepository {
  constructor(private readonly db: Firestore) {}

  private ref(sourceId: string) {
    return this.db.collection(COLLECTIONS.sourceSecrets).withConverter(zodConverter(sourceSecretSchema)).doc(sourceId);
  }

  async get(sourceId: string): Promise<SourceSecret | null> {
    return (await this.ref(sourceId).get()).data() ?? null;
  }

  async put(sourceId: string, secret: SourceSecret): Promise<void> {
    await this.ref(sourceId).set(secret);
  }

  async delete(sourceId: string): Promise<void> {
    await this.ref(sourceId).delete();
  }
}
