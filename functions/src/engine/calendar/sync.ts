import { isGoogleError } from '../errors';
import { horizonMoved } from '../source/decisions';
import { taskCalendar, type Source, type Task } from '../model';
import { calendarState } from './state';
import type { CalendarApi, CalendarEvent, CalendarListRequest } from './ports';
import type { Clock, StatusUpdate, TaskStore } from '../ports';
import type { SourceStore } from '../source/ports';
import { calendarWindow, EXCLUDED_REASON, judgeEvent, type CalendarWindow, type TaskRule } from '../task-rule';

/**
 * Calendar delta sync: events.list with the stored sync token (all pages; the new token comes
 * only from the last page) → the task rule decides each event (task-rule.ts); the token goes
 * to the runner, which stores it with the step's end.
 * Without a token, or when Google answers 410, a full sync of the rule's window, then a sweep:
 * every open task whose event the listing did not show is looked up with events.get, so
 * deletions made while we had no valid token are found wherever the event lies. Every write
 * is ordered by Google's `updated`, never by our clock.
 */

const PAGE_SIZE = 250;
/** The horizon moves (a listing of the slice that entered the window) once it lags this much. */
const HORIZON_STEP_MS = 24 * 3_600_000;
/** events.get lookups per sweep; further unseen tasks wait for the next full sync. */
const SWEEP_MAX_LOOKUPS = 200;
const SWEEP_CONCURRENCY = 10;

export interface CalendarSyncDeps {
  sources: SourceStore;
  tasks: TaskStore;
  clock: Clock;
  leaseMs: number;
  taskRule: TaskRule;
}

export interface CalendarSyncResult {
  fullSync: boolean;
  /**
   * The listing's last page's token, its tasks already written: the runner stores it in the
   * write that ends the step (`null`: Google gave none, keep the stored one).
   */
  syncToken: string | null;
  /** The token the listing began from (`null`: a full listing). */
  listedFrom: string | null;
  counts: Record<string, number>;
  /** The incremental listing showed nothing: a push's change may not be served yet (read-after-push lag). */
  listedNothing: boolean;
}

/** `changedAt`: Google's time of the change, for an event that carries no `updated`. */
export function calendarTask(source: Source, calendarId: string, event: CalendarEvent, changedAt: Date, now: Date): Task {
  return {
    sourceId: source.id,
    origin: 'calendar',
    externalId: event.id,
    calendarId,
    title: event.summary?.trim() || '(no title)',
    dueAt: event.start,
    link: event.htmlLink,
    status: 'open',
    externalUpdatedAt: event.updated ?? changedAt,
    updatedAt: now,
  };
}

/** One calendar of one source, as a pass syncs it. */
interface Target {
  source: Source;
  calendarId: string;
  owner: string;
}

interface Listing {
  events: Map<string, CalendarEvent>;
  syncToken: string | null;
  /** The calendar's last modification at Google: the time of any change the listing implies. */
  updated: Date | null;
}

/** Whether a calendar's listed horizon lags the window's end enough for the slice to be listed. */
export function horizonDue(horizon: Date | null, window: CalendarWindow): boolean {
  return window.timeMax.getTime() - (horizon ?? window.timeMin).getTime() >= HORIZON_STEP_MS;
}

export class CalendarSync {
  constructor(private readonly deps: CalendarSyncDeps) {}

  /** Syncs one calendar of the source (`api` is bound to it). */
  async run(api: CalendarApi, target: Target, pageSize: number | null): Promise<CalendarSyncResult> {
    const counts: Record<string, number> = {};
    const window = calendarWindow(this.deps.clock.now(), this.deps.taskRule, target.source.eventRules);
    const { syncToken } = calendarState(target.source, target.calendarId);
    if (syncToken !== null) {
      try {
        const listing = await this.list(api, target, { syncToken }, pageSize, counts);
        await this.apply(target, listing, window, counts);
        await this.extendHorizon(api, target, window, pageSize, counts);
        return { fullSync: false, syncToken: listing.syncToken, listedFrom: syncToken, counts, listedNothing: listing.events.size === 0 };
      } catch (error) {
        if (!isGoogleError(error, 'cursor-invalid')) throw error;
        // The token is useless from here on: clear it before the full sync.
        await this.deps.sources.setCalendarSyncToken(target.source.id, target.owner, { calendarId: target.calendarId, token: null }, this.deps.clock.now());
        counts.tokenInvalidated = 1;
      }
    }
    const listing = await this.list(api, target, window, pageSize, counts);
    await this.apply(target, listing, window, counts);
    await this.sweep(api, target, listing, window, counts);
    await this.setHorizon(target, window.timeMax);
    return { fullSync: true, syncToken: listing.syncToken, listedFrom: null, counts, listedNothing: false };
  }

  /**
   * An event that nobody changes enters the window as time passes, and a sync token reports
   * only changes: the slice between the last horizon and the window's end is listed on its own
   * (the token is untouched) once it is a day wide.
   */
  private async extendHorizon(api: CalendarApi, target: Target, window: CalendarWindow, pageSize: number | null, counts: Record<string, number>) {
    const horizon = calendarState(target.source, target.calendarId).horizon ?? window.timeMin;
    if (!horizonDue(horizon, window)) return;
    const slice = { timeMin: horizon < window.timeMin ? window.timeMin : horizon, timeMax: window.timeMax };
    const listing = await this.list(api, target, slice, pageSize, counts);
    await this.apply(target, listing, window, counts);
    counts.horizonListed = listing.events.size;
    await this.setHorizon(target, window.timeMax);
  }

  private async setHorizon(target: Target, horizon: Date): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.sources.transition(target.source.id, now, horizonMoved(target.owner, target.calendarId, horizon, now, this.deps.leaseMs));
  }

  private async list(
    api: CalendarApi,
    { source, owner }: Target,
    start: { syncToken: string } | CalendarWindow,
    pageSize: number | null,
    counts: Record<string, number>,
  ): Promise<Listing> {
    const listing: Listing = { events: new Map(), syncToken: null, updated: null };
    let pageToken: string | null = null;
    for (let page = 0; ; page += 1) {
      if (page > 0 && page % 10 === 0) await this.deps.sources.extendLease(source.id, owner, this.deps.clock.now(), this.deps.leaseMs);
      const request: CalendarListRequest = { ...start, pageToken, maxResults: pageSize ?? PAGE_SIZE };
      const result = await api.listEvents(request);
      counts.pages = (counts.pages ?? 0) + 1;
      // Later pages win: an event changed between pages appears with its newest state.
      result.events.forEach((e) => listing.events.set(e.id, e));
      if (result.updated !== null && (listing.updated === null || result.updated > listing.updated)) listing.updated = result.updated;
      if (result.nextSyncToken !== null) {
        listing.syncToken = result.nextSyncToken;
        break;
      }
      if (result.nextPageToken === null) break;
      pageToken = result.nextPageToken;
    }
    counts.events = (counts.events ?? 0) + listing.events.size;
    return listing;
  }

  /** Writes what the task rule makes of each listed event. */
  private async apply(target: Target, listing: Listing, window: CalendarWindow, counts: Record<string, number>): Promise<void> {
    const now = this.deps.clock.now();
    const changedAt = listing.updated ?? now;
    const live: Task[] = [];
    const cancel: StatusUpdate[] = [];
    for (const event of listing.events.values()) {
      const verdict = judgeEvent(event, window, target.source.eventRules);
      if (verdict === 'task') live.push(calendarTask(target.source, target.calendarId, event, changedAt, now));
      else if (verdict === 'ignore') counts.outsideWindow = (counts.outsideWindow ?? 0) + 1;
      else cancel.push(cancellation(target, event.id, event.updated ?? changedAt, verdict));
    }
    await this.write(target.source, live, cancel, counts);
  }

  /**
   * Mark-and-sweep after a full sync: an open task the listing did not show is looked up
   * (events.get); gone, cancelled or declined → cancelled. Bounded per pass.
   */
  private async sweep(api: CalendarApi, target: Target, listing: Listing, window: CalendarWindow, counts: Record<string, number>): Promise<void> {
    const { source, owner, calendarId } = target;
    const open = await this.deps.tasks.listOpen(source.userId, source.id, 'calendar');
    const unseen = open.filter((t) => taskCalendar(t) === calendarId && !listing.events.has(t.externalId));
    const checked = unseen.slice(0, SWEEP_MAX_LOOKUPS);
    if (unseen.length > checked.length) counts.sweepDeferred = unseen.length - checked.length;
    const now = this.deps.clock.now();
    const changedAt = listing.updated ?? now;
    const live: Task[] = [];
    const cancel: StatusUpdate[] = [];
    for (let i = 0; i < checked.length; i += SWEEP_CONCURRENCY) {
      if (i > 0) await this.deps.sources.extendLease(source.id, owner, this.deps.clock.now(), this.deps.leaseMs);
      const batch = checked.slice(i, i + SWEEP_CONCURRENCY);
      const events = await Promise.all(batch.map((t) => api.getEvent(t.externalId)));
      batch.forEach((task, index) => {
        const event = events[index] ?? null;
        const verdict = event === null ? 'cancel' : judgeEvent(event, window, source.eventRules);
        if (verdict === 'cancel' || verdict === 'exclude') cancel.push(cancellation(target, task.externalId, event?.updated ?? changedAt, verdict));
        else if (verdict === 'task' && event !== null) live.push(calendarTask(source, calendarId, event, changedAt, now));
      });
    }
    counts.sweepLookups = checked.length;
    await this.write(source, live, cancel, counts);
  }

  private async write(source: Source, live: Task[], cancel: StatusUpdate[], counts: Record<string, number>): Promise<void> {
    if (live.length > 0) {
      const { written, stale } = await this.deps.tasks.upsert(source.userId, live);
      counts.tasksWritten = (counts.tasksWritten ?? 0) + written;
      counts.staleIgnored = (counts.staleIgnored ?? 0) + stale;
    }
    if (cancel.length > 0) {
      const cancelled = await this.deps.tasks.setStatusIfExists(source.userId, cancel, 'cancelled', this.deps.clock.now());
      counts.tasksCancelled = (counts.tasksCancelled ?? 0) + cancelled;
    }
  }
}

function cancellation(target: Target, externalId: string, externalUpdatedAt: Date, verdict: 'cancel' | 'exclude'): StatusUpdate {
  const reason = verdict === 'exclude' ? { reason: EXCLUDED_REASON } : {};
  return { sourceId: target.source.id, origin: 'calendar', externalId, calendarId: target.calendarId, externalUpdatedAt, ...reason };
}
