/** Sync requests: what the scheduled jobs and the Calendar push publish, and the sync worker runs. */

/**
 * A request on the `sync-requests` topic: run what is pending for the source, and check
 * Calendar even if nothing announced a change when `calendar` is set (polls, re-registration).
 */
export interface SyncRequest {
  sourceId: string;
  trigger: 'push' | 'poll' | 'renewal' | 'manual';
  /** Check Calendar / Gmail even if nothing announced a change. */
  calendar: boolean;
  gmail?: boolean;
  /** Renew the source's watches instead of syncing. */
  renew?: boolean;
  /** Run the completeness audit instead of syncing (fanned out by auditCompleteness). */
  audit?: boolean;
  pageSize?: number;
}

export interface SyncRequestPublisher {
  publish(request: SyncRequest): Promise<void>;
}
