import { Firestore } from '@google-cloud/firestore';

/**
 * One Firestore client per instance. In local runs and tests the SDK finds the emulator
 * through FIRESTORE_EMULATOR_HOST, which it reads itself.
 */
export function createFirestore(projectId: string): Firestore {
  return new Firestore({ projectId, ignoreUndefinedProperties: true });
}

export const COLLECTIONS = {
  sources: 'sources',
  sourceSecrets: 'sourceSecrets',
  channels: 'channels',
  users: 'users',
  tasks: 'tasks',
  ingestionEvents: 'ingestion_events',
  audits: 'audits',
} as const;
