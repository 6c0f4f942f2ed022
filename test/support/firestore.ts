import { randomBytes } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import { createFirestore } from '../../functions/src/store/firestore';

/**
 * Each test file gets its own `demo-` project on the shared emulator, so files running in
 * parallel never see each other's data, and the project is wiped before use.
 */
export async function freshFirestore(): Promise<{ db: Firestore; projectId: string }> {
  const projectId = `demo-t${randomBytes(5).toString('hex')}`;
  const host = process.env.FIRESTORE_EMULATOR_HOST;
  const response = await fetch(`http://${host}/emulator/v1/projects/${projectId}/databases/(default)/documents`, {
    method: 'DELETE',
  });
  if (!response.ok) throw new Error(`could not wipe emulator project ${projectId}: ${response.status}`);
  return { db: createFirestore(projectId), projectId };
}
