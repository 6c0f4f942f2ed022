import { collection, onSnapshot, query, where, type Firestore, type Unsubscribe } from 'firebase/firestore';
import * as z from 'zod';

/**
 * Live views over the Firebase client SDK, for host apps that read Firestore directly (the
 * rules let a signed-in user read their own tasks and sources, nothing else).
 */
export interface LiveTask {
  taskId: string;
  sourceId: string;
  origin: 'gmail' | 'calendar';
  title: string;
  dueAt: Date | null;
  link: string | null;
  status: 'open' | 'archived' | 'cancelled';
  version: number;
}

export interface LiveSourceStatus {
  sourceId: string;
  email: string;
  status: 'active' | 'degraded' | 'disconnected';
  reason: string | null;
  /** Show the polling banner: changes arrive by polling, not (only) by push. */
  polling: boolean;
}

const timestamp = z.custom<{ toDate(): Date }>((v) => typeof (v as { toDate?: unknown } | null)?.toDate === 'function');
const taskDocument = z.object({
  sourceId: z.string(),
  origin: z.enum(['gmail', 'calendar']),
  title: z.string(),
  dueAt: timestamp.nullable(),
  link: z.string().nullable(),
  status: z.enum(['open', 'archived', 'cancelled']),
  version: z.number().int().default(0),
});
const sourceDocument = z.object({
  email: z.string(),
  status: z.enum(['active', 'degraded', 'disconnected']),
  statusReason: z.string().nullable().default(null),
  polling: z.boolean().default(false),
});

/** The user's tasks, every time one changes. */
export function liveTasks(db: Firestore, uid: string, onTasks: (tasks: LiveTask[]) => void, onError?: (error: Error) => void): Unsubscribe {
  return onSnapshot(
    collection(db, 'users', uid, 'tasks'),
    (snap) =>
      onTasks(
        snap.docs.map((d): LiveTask => {
          const { dueAt, ...task } = taskDocument.parse(d.data());
          return { taskId: d.id, ...task, dueAt: dueAt?.toDate() ?? null };
        }),
      ),
    onError,
  );
}

/** The user's sources' status (badge, reason, polling banner), every time one changes. */
export function liveSourceStatus(db: Firestore, uid: string, onStatus: (sources: LiveSourceStatus[]) => void, onError?: (error: Error) => void): Unsubscribe {
  return onSnapshot(
    query(collection(db, 'sources'), where('userId', '==', uid)),
    (snap) =>
      onStatus(
        snap.docs.map((d): LiveSourceStatus => {
          const { statusReason: reason, ...source } = sourceDocument.parse(d.data());
          return { sourceId: d.id, ...source, reason };
        }),
      ),
    onError,
  );
}
