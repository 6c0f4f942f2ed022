import type { CalendarApi } from './calendar/ports';
import type { GmailApi } from './gmail/ports';
import type { IngestionEvent, Source, Task } from './model';
import type { LogMessage } from '../observability/log-events';

/**
 * What every capability of the engine needs from the outside world: time, logs, tasks, the
 * ingestion log and Google access. Each capability's own ports are in its folder
 * (source/ports.ts, gmail/ports.ts, calendar/ports.ts, account/ports.ts, jobs/ports.ts).
 * `store/` and `google/` implement them; the engine imports neither Firestore nor Google.
 */

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export type LogFields = Record<string, unknown>;
/** Messages come from the catalogue only: log-based metrics and alerts filter on them. */
export interface Logger {
  debug(message: LogMessage, fields?: LogFields): void;
  info(message: LogMessage, fields?: LogFields): void;
  warn(message: LogMessage, fields?: LogFields): void;
  error(message: LogMessage, fields?: LogFields): void;
}

export interface StatusUpdate {
  sourceId: string;
  origin: Task['origin'];
  externalId: string;
  /** A Calendar task's calendar (`null` or absent: the primary one). */
  calendarId?: string | null;
  externalUpdatedAt?: Date;
  /** Why, when the change is not the item's own doing (stored on the task). */
  reason?: string;
}

export interface TaskStore {
  upsert(userId: string, tasks: readonly Task[]): Promise<{ written: number; stale: number }>;
  /**
   * Tasks for items that are new to us (messages Gmail reports added): created without
   * reading them first; if any already exists (a pass done again), all go through `upsert`.
   */
  insertNew(userId: string, tasks: readonly Task[]): Promise<{ written: number; stale: number }>;
  /**
   * Sets the status of tasks that exist; never creates one. Returns how many changed. An
   * update's `externalUpdatedAt` (the change's time at Google) orders it; without one, `at`.
   */
  setStatusIfExists(
    userId: string,
    updates: readonly StatusUpdate[],
    status: Task['status'],
    at: Date,
  ): Promise<number>;
  listOpen(userId: string, sourceId: string, origin: Task['origin']): Promise<Task[]>;
}

export interface EventLog {
  record(event: Omit<IngestionEvent, 'expireAt'>): Promise<IngestionEvent>;
}

/** Google access for one source: its credentials and its share of the rate limit. */
export interface GoogleAccess {
  gmail(source: Source): Promise<GmailApi>;
  /** One calendar of the account (the primary one unless named). */
  calendar(source: Source, calendarId?: string): Promise<CalendarApi>;
  /** The Gmail client this instance already holds for these credentials, or `null`; never reads. */
  warmGmail(sourceId: string, credentialsAt: Date): GmailApi | null;
}
