import { isGoogleError } from './errors';
import type { Source, Task } from './model';
import type { CalendarApi, CalendarEvent, CalendarListRequest, Clock, SourceStore, TaskStore } from './ports';

/**
 * Calendar delta sync: events.list with the stored sync token (all pages; the new token comes
 * only from the last page) → task upserts, cancelled events → `cancelled`; then the token.
 * Without a token, or when Google answers 410, a bounded full sync of a window around now,
 * then mark-and-sweep: open tasks in that window whose events were not seen are cancelled,
 * so deletions made while we had no valid token are not missed.
 */

const PAGE_SIZE = 250;
/** How far back a full sync looks; older events are history, not tasks. */
export const FULL_SYNC_LOOKBACK_MS = 7 * 24 * 3_600_000;

export interface CalendarSyncDeps {
  sources: SourceStore;
  tasks: TaskStore;
  clock: Clock;
  leaseMs: number;
}

export interface CalendarSyncResult {
  fullSync: boolean;
  counts: Record<string, number>;
}

export function calendarTask(source: Source, event: CalendarEvent, now: Date): Task {
  return {
    sourceId: source.id,
    origin: 'calendar',
    externalId: event.id,
    title: event.summary?.trim() || '(no title)',
    dueAt: event.start,
    link: event.htmlLink,
    status: event.status === 'cancelled' ? 'cancelled' : 'open',
    externalUpdatedAt: event.updated ?? now,
    updatedAt: now,
  };
}

export class CalendarSync {
  constructor(private readonly deps: CalendarSyncDeps) {}

  async run(api: CalendarApi, source: Source, owner: string, pageSize: number | null): Promise<CalendarSyncResult> {
    const counts: Record<string, number> = {};
    if (source.calendarSyncToken !== null) {
      try {
        await this.sync(api, source, owner, { syncToken: source.calendarSyncToken }, pageSize, counts);
        return { fullSync: false, counts };
      } catch (error) {
        if (!isGoogleError(error, 'cursor-invalid')) throw error;
        // The token is useless from here on: clear it before the full sync.
        await this.deps.sources.setCalendarSyncToken(source.id, owner, null, this.deps.clock.now());
        counts.tokenInvalidated = 1;
      }
    }
    const timeMin = new Date(this.deps.clock.now().getTime() - FULL_SYNC_LOOKBACK_MS);
    await this.sync(api, source, owner, { timeMin }, pageSize, counts);
    return { fullSync: true, counts };
  }

  private async sync(
    api: CalendarApi,
    source: Source,
    owner: string,
    start: { syncToken: string } | { timeMin: Date },
    pageSize: number | null,
    counts: Record<string, number>,
  ): Promise<void> {
    const seen = new Map<string, CalendarEvent>();
    let pageToken: string | null = null;
    let syncToken: string | null = null;
    for (let page = 0; ; page += 1) {
      if (page > 0 && page % 10 === 0) await this.deps.sources.extendLease(source.id, owner, this.deps.clock.now(), this.deps.leaseMs);
      const request: CalendarListRequest = { ...start, pageToken, maxResults: pageSize ?? PAGE_SIZE };
      const result = await api.listEvents(request);
      counts.pages = (counts.pages ?? 0) + 1;
      // Later pages win: an event changed between pages appears with its newest state.
      result.events.forEach((e) => seen.set(e.id, e));
      if (result.nextSyncToken !== null) {
        syncToken = result.nextSyncToken;
        break;
      }
      if (result.nextPageToken === null) break;
      pageToken = result.nextPageToken;
    }
    counts.events = (counts.events ?? 0) + seen.size;

    const now = this.deps.clock.now();
    const events = [...seen.values()];
    const live = events.filter((e) => e.status !== 'cancelled').map((e) => calendarTask(source, e, now));
    if (live.length > 0) {
      const { written, stale } = await this.deps.tasks.upsert(source.userId, live);
      counts.tasksWritten = (counts.tasksWritten ?? 0) + written;
      counts.staleIgnored = (counts.staleIgnored ?? 0) + stale;
    }
    const cancelled = events.filter((e) => e.status === 'cancelled');
    let toCancel = cancelled.map((e) => e.id);
    if ('timeMin' in start) {
      // Mark-and-sweep: what the full listing of the window did not show no longer exists.
      const open = await this.deps.tasks.listOpen(source.userId, source.id, 'calendar');
      const swept = open.filter((t) => !seen.has(t.externalId) && (t.dueAt === null || t.dueAt >= start.timeMin));
      counts.swept = swept.length;
      toCancel = [...toCancel, ...swept.map((t) => t.externalId)];
    }
    if (toCancel.length > 0) {
      counts.tasksCancelled = await this.deps.tasks.setStatusIfExists(
        source.userId,
        toCancel.map((externalId) => ({ sourceId: source.id, origin: 'calendar' as const, externalId })),
        'cancelled',
        now,
      );
    }
    // Only after the tasks are written, and only with the last page's token.
    if (syncToken !== null) await this.deps.sources.setCalendarSyncToken(source.id, owner, syncToken, this.deps.clock.now());
  }
}
