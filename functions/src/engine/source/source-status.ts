import { PRIMARY_CALENDAR, type Source } from '../model';
import { calendarState, syncedCalendars, watchesCalendarList } from '../calendar/state';
import { channelProblemOf, deriveStatus, type StatusSettings } from './status';

/** One synced calendar as the status view shows it: `ok`, or what is wrong with it. */
export interface CalendarStatusView {
  calendarId: string;
  state: string;
  channelExpiration: string | null;
  syncErrors: number;
}

/** The calendar list's channel, kept by a source whose choice follows the list: `ok`, or what is wrong with it. */
export interface CalendarListChannelView {
  state: string;
  channelExpiration: string | null;
}

/** What the status endpoint and page show for one source, derived with the current clock. */
export interface SourceStatusView {
  sourceId: string;
  email: string;
  status: Source['status'];
  reason: string | null;
  polling: boolean;
  lastSyncAt: string | null;
  watchExpiration: string | null;
  calendarChannelExpiration: string | null;
  /** When the completeness audit last checked the source. */
  lastAuditAt: string | null;
  calendars: CalendarStatusView[];
  /** `null` when the source keeps no calendar list channel (it syncs the primary calendar only). */
  calendarListChannel: CalendarListChannelView | null;
}

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/**
 * Status is stored on each source at every write, but time alone can change it (a watch
 * expires, a poll is late), so views re-derive it with the same rules and the current clock.
 */
export function sourceStatusView(source: Source, now: Date, settings: StatusSettings): SourceStatusView {
  const derived = deriveStatus(source, now, settings);
  return {
    sourceId: source.id,
    email: source.email,
    status: derived.status,
    reason: derived.statusReason,
    polling: derived.polling,
    lastSyncAt: iso(source.lastSyncAt),
    watchExpiration: iso(source.watchExpiration),
    calendarChannelExpiration: iso(source.calendarChannelExpiration),
    lastAuditAt: iso(source.lastAuditAt),
    calendars: syncedCalendars(source).map((calendarId) => calendarView(source, calendarId, now, settings)),
    calendarListChannel: listChannelView(source, now),
  };
}

function listChannelView(source: Source, now: Date): CalendarListChannelView | null {
  if (!watchesCalendarList(source)) return null;
  const expiration = source.calendarListChannel?.expiration ?? null;
  const problem = expiration === null ? 'No calendar list channel registered' : expiration <= now ? 'Calendar list channel expired' : null;
  return { state: problem ?? 'ok', channelExpiration: iso(expiration) };
}

function calendarView(source: Source, calendarId: string, now: Date, settings: StatusSettings): CalendarStatusView {
  const state = calendarState(source, calendarId);
  // The primary calendar's failures are the source's own (`consecutiveErrors`).
  const syncErrors = calendarId === PRIMARY_CALENDAR ? source.consecutiveErrors : state.syncErrors;
  const failing = syncErrors >= settings.errorThreshold ? `${syncErrors} sync errors in a row` : null;
  return { calendarId, state: channelProblemOf(state, now) ?? failing ?? 'ok', channelExpiration: iso(state.channelExpiration), syncErrors };
}
