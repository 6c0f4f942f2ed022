import { Firestore, GrpcStatus } from '@google-cloud/firestore';

/**
 * One Firestore client per instance. In local runs and tests the SDK finds the emulator
 * through FIRESTORE_EMULATOR_HOST, which it reads itself.
 */
export function createFirestore(projectId: string): Firestore {
  return new Firestore({ projectId, ignoreUndefinedProperties: true });
}

/** Whether a Firestore call failed with this gRPC status (the SDK's errors carry it as `code`). */
export function failedWith(error: unknown, status: GrpcStatus): boolean {
  return (error as { code?: unknown }).code === status;
}

export const COLLECTIONS = {
  sources: 'sources',
  sourceSecrets: 'sourceSecrets',
  channels: 'channels',
  users: 'users',
  tasks: 'tasks',
  ingestionEvents: 'ingestion_events',
  audits: 'audits',
  changeOutbox: 'changeOutbox',
} as const;
