import { instanceId, instanceStarts, parseRecurrence } from './recurrence';

/** Events as stored, and the items events.list and events.get show of them. */

export type EventTime = { dateTime: string; timeZone?: string } | { date: string };

export const EVENT_TYPES = ['default', 'birthday', 'focusTime', 'outOfOffice', 'workingLocation', 'fromGmail'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface Reminder {
  method: 'email' | 'popup';
  minutes: number;
}
/** An event's reminders: the calendar's defaults, or its own. */
export type EventReminders = { useDefault: true } | { useDefault: false; overrides: Reminder[] };

export type ResponseStatus = 'needsAction' | 'declined' | 'tentative' | 'accepted';
export interface Attendee {
  email: string;
  responseStatus: ResponseStatus;
}

/** A changed or cancelled instance of a series, keyed by its original start. */
export interface InstanceOverride {
  status: 'confirmed' | 'cancelled';
  summary?: string;
  start?: EventTime;
  end?: EventTime;
  updated: number;
  seq: number;
}

export interface StoredEvent {
  id: string;
  summary: string;
  description: string;
  start: EventTime;
  end: EventTime;
  status: 'confirmed' | 'cancelled';
  created: number;
  updated: number;
  seq: number;
  /** The iCalendar SEQUENCE: bumped by every change the organizer makes. */
  sequence: number;
  /** RRULE lines of a series; `null` for a single event. */
  recurrence: string[] | null;
  attendees: Attendee[];
  overrides: Map<number, InstanceOverride>;
  /** Fixed at creation, as at Google. */
  eventType: EventType;
  reminders: EventReminders;
  /** Sandbox-clock time from which reads serve this version (read-after-push lag). */
  visibleAt: number;
  /** The version reads serve until then, if the event existed before. */
  prior: StoredEvent | null;
}

/** What events.list and events.get show: a single event, a series, or one instance of a series. */
export interface EventItem {
  id: string;
  event: StoredEvent;
  /** Set for an instance: its start before any change. */
  originalStart: EventTime | null;
  summary: string;
  start: EventTime;
  end: EventTime;
  status: 'confirmed' | 'cancelled';
  updated: number;
  seq: number;
}

export function eventStartMs(time: EventTime): number {
  return Date.parse('dateTime' in time ? time.dateTime : `${time.date}T00:00:00Z`);
}

export function plainItem(event: StoredEvent): EventItem {
  return { id: event.id, event, originalStart: null, summary: event.summary, start: event.start, end: event.end, status: event.status, updated: event.updated, seq: event.seq };
}

function shifted(time: EventTime, toMs: number): EventTime {
  if ('date' in time) return { date: new Date(toMs).toISOString().slice(0, 10) };
  return { ...time, dateTime: new Date(toMs).toISOString().replace('.000Z', 'Z') };
}

/** A series' instances, each with its override (if any) applied. */
export function expand(series: StoredEvent): EventItem[] {
  const rule = parseRecurrence(series.recurrence ?? []);
  if (rule === null) return [];
  const firstMs = eventStartMs(series.start);
  const durationMs = eventStartMs(series.end) - firstMs;
  return instanceStarts(firstMs, rule).map((startMs) => {
    const override = series.overrides.get(startMs);
    const originalStart = shifted(series.start, startMs);
    const cancelled = series.status === 'cancelled' || override?.status === 'cancelled';
    return {
      id: instanceId(series.id, startMs, 'date' in series.start),
      event: series,
      originalStart,
      summary: override?.summary ?? series.summary,
      start: override?.start ?? originalStart,
      end: override?.end ?? shifted(series.end, startMs + durationMs),
      status: cancelled ? 'cancelled' : 'confirmed',
      updated: Math.max(series.updated, override?.updated ?? 0),
      seq: Math.max(series.seq, override?.seq ?? 0),
    };
  });
}

/** A copy of the event as it is now, to serve while a change to it is not yet readable. */
export function snapshot(event: StoredEvent): StoredEvent {
  return { ...event, attendees: event.attendees.map((a) => ({ ...a })), overrides: new Map(event.overrides) };
}

/** The version of the event reads serve at `now`; null while its creation is not yet readable. */
export function readableVersion(event: StoredEvent, now: number): StoredEvent | null {
  let version: StoredEvent | null = event;
  while (version !== null && version.visibleAt > now) version = version.prior;
  return version;
}
