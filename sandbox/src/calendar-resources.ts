import { eventStartMs, type AccessRole, type CalendarData, type EventItem, type EventType } from './calendar-data';
import { EVENT_TYPES } from './calendar-items';
import type { ApiContext } from './api-call';
import type { ListEntry } from './calendar-list';
import { errors } from './google-errors';
import type { Handler, Reply } from './http';
import type { World } from './world';

/** Calendar event resources and the pieces of an events.list answer, as Google shapes them. */

export const CALENDAR_SCOPES = [
  'https://www.googleapis.com/auth/calendar',
  'https://www.googleapis.com/auth/calendar.readonly',
  'https://www.googleapis.com/auth/calendar.events',
  'https://www.googleapis.com/auth/calendar.events.readonly',
];

export type CalendarCall = (method: string, run: (context: ApiContext) => Reply | Promise<Reply>) => Handler;

/** The calendar the path names, as the caller reaches it; 404 when it is not in the caller's list. */
export function resolveCalendar(world: World, context: ApiContext): { calendar: CalendarData; entry: ListEntry } {
  const found = world.calendarFor(context.account, context.request.params.calendarId ?? '');
  if (!found) throw errors.notFound('Not Found');
  return found;
}


export const FORBIDDEN_WITH_SYNC_TOKEN = ['iCalUID', 'orderBy', 'q', 'timeMin', 'timeMax', 'updatedMin', 'privateExtendedProperty', 'sharedExtendedProperty'];
/**
 * How far back `updatedMin` may reach before Google answers 410 `updatedMinTooLongAgo`. Google
 * documents no figure; a client library report saw the error beyond about 20 days [obs].
 */
export const UPDATED_MIN_MAX_AGE_MS = 20 * 24 * 3_600_000;

/** `updatedMin`: only events modified since then, deleted ones always included; 410 when too old. */
function updatedMinFilter(raw: string | null, now: number): ((e: EventItem) => boolean) | null {
  if (raw === null) return null;
  const min = Date.parse(raw);
  if (Number.isNaN(min)) throw errors.badRequest('Bad Request', 'badRequest');
  if (min < now - UPDATED_MIN_MAX_AGE_MS) throw errors.updatedMinTooLongAgo();
  return (e) => e.updated >= min;
}

export interface SyncTokenState {
  g: number;
  s: number;
}
export interface PageState {
  /** Snapshot seq: the sync token the last page will hand out. */
  s: number;
  /** Only changes after this seq (incremental), or -1 for a full listing. */
  from: number;
  offset: number;
  g: number;
}

export function encode(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decode<T>(raw: string): T | null {
  try {
    return JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as T;
  } catch {
    return null;
  }
}

/** The fields that tie an instance to its series. */
function seriesFields(item: EventItem) {
  if (item.originalStart !== null) return { recurringEventId: item.event.id, originalStartTime: item.originalStart };
  return item.event.recurrence !== null ? { recurrence: item.event.recurrence } : {};
}

/** Who reads the calendar, and with which role: what an event shows depends on both. */
export interface CalendarView {
  calendar: CalendarData;
  viewer: string;
  role: AccessRole;
}

/** The properties Google attaches to each special event type. */
const TYPE_PROPERTIES: Record<EventType, Record<string, unknown>> = {
  default: {},
  fromGmail: {},
  birthday: { birthdayProperties: { type: 'birthday' }, transparency: 'transparent', visibility: 'private' },
  workingLocation: { workingLocationProperties: { type: 'homeOffice', homeOffice: {} }, transparency: 'transparent', visibility: 'public' },
  outOfOffice: { outOfOfficeProperties: { autoDeclineMode: 'declineOnlyNewConflictingInvitations' } },
  focusTime: { focusTimeProperties: { autoDeclineMode: 'declineOnlyNewConflictingInvitations', chatStatus: 'doNotDisturb' } },
};

export function eventResource(item: EventItem, view: CalendarView) {
  const event = item.event;
  const base = { kind: 'calendar#event', etag: `"${item.seq}"`, id: item.id, status: item.status };
  if (item.status === 'cancelled') return { ...base, updated: new Date(item.updated).toISOString(), ...seriesFields(item) };
  // Free/busy access shows when the calendar is busy, never what the event is.
  if (view.role === 'freeBusyReader') return { ...base, start: item.start, end: item.end };
  const { calendar, viewer } = view;
  return {
    ...base,
    htmlLink: `https://www.google.com/calendar/event?eid=${Buffer.from(`${item.id} ${calendar.id}`).toString('base64url')}`,
    created: new Date(event.created).toISOString(),
    updated: new Date(item.updated).toISOString(),
    summary: item.summary,
    description: event.description,
    creator: { email: calendar.ownerEmail, ...(calendar.ownerEmail === viewer && { self: true }) },
    organizer: { email: calendar.id, self: true, ...(calendar.id !== calendar.ownerEmail && { displayName: calendar.summary }) },
    start: item.start,
    end: item.end,
    ...seriesFields(item),
    iCalUID: `${event.id}@google.com`,
    sequence: event.sequence,
    ...(event.attendees.length > 0 && {
      attendees: event.attendees.map((a) => ({ email: a.email, responseStatus: a.responseStatus, ...(a.email === viewer && { self: true }) })),
    }),
    reminders: event.reminders,
    eventType: event.eventType,
    ...TYPE_PROPERTIES[event.eventType],
  };
}

/** `eventTypes` (repeatable): only events of those types; none given, every type. */
export function parseEventTypes(raw: string[]): EventType[] {
  for (const type of raw) {
    if (!(EVENT_TYPES as readonly string[]).includes(type)) throw errors.badRequest(`Invalid event type: ${type}`, 'invalid', 'eventTypes');
  }
  return raw as EventType[];
}

/** timeMin/timeMax: RFC 3339 with a mandatory offset (Google answers 400 without one). */
function parseBound(query: URLSearchParams, name: 'timeMin' | 'timeMax'): number | null {
  const raw = query.get(name);
  if (raw === null) return null;
  const ms = Date.parse(raw);
  if (!/(Z|[+-]\d{2}:\d{2})$/i.test(raw) || Number.isNaN(ms)) throw errors.badRequest('Bad Request', 'badRequest', name);
  return ms;
}

/** `orderBy`: `startTime` (only with singleEvents) or `updated`; by change order otherwise. */
function ordered(items: EventItem[], orderBy: string | null, singleEvents: boolean): EventItem[] {
  if (orderBy === null) return items.sort((a, b) => a.seq - b.seq);
  if (orderBy === 'startTime') {
    if (!singleEvents) throw errors.badRequest('The requested ordering is not available for the particular query.', 'invalid', 'orderBy');
    return items.sort((a, b) => eventStartMs(a.start) - eventStartMs(b.start) || a.seq - b.seq);
  }
  if (orderBy === 'updated') return items.sort((a, b) => a.updated - b.updated || a.seq - b.seq);
  throw errors.badRequest(`Invalid value for orderBy: ${orderBy}`, 'invalid', 'orderBy');
}

/** `q`: every word must appear in the summary or description, case-insensitively. */
function matchesText(item: EventItem, q: string | null): boolean {
  if (q === null) return true;
  const text = `${item.summary} ${item.event.description}`.toLowerCase();
  return q.toLowerCase().split(/\s+/).filter(Boolean).every((word) => text.includes(word));
}

/** The items of one listing page's snapshot: all (full) or changed after `from` (incremental). */
export function listedItems(calendar: CalendarData, page: PageState, query: URLSearchParams, now: number): EventItem[] {
  const singleEvents = query.get('singleEvents') === 'true';
  const showDeleted = query.get('showDeleted') === 'true';
  // updatedMin lists deletions too, as Google does.
  const updatedSince = updatedMinFilter(query.get('updatedMin'), now);
  const minMs = parseBound(query, 'timeMin');
  const maxMs = parseBound(query, 'timeMax');
  const q = query.get('q');
  const types = parseEventTypes(query.getAll('eventTypes'));
  const incremental = page.from >= 0;
  const items = calendar
    .items(singleEvents, now)
    .filter((e) => e.seq <= page.s && (incremental ? e.seq > page.from : showDeleted || updatedSince !== null || e.status !== 'cancelled'))
    .filter((e) => updatedSince === null || updatedSince(e))
    .filter((e) => minMs === null || eventStartMs(e.end) > minMs)
    .filter((e) => maxMs === null || eventStartMs(e.start) < maxMs)
    .filter((e) => matchesText(e, q))
    .filter((e) => types.length === 0 || types.includes(e.event.eventType));
  return ordered(items, query.get('orderBy'), singleEvents);
}

