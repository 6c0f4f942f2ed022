import type { Random } from './random';
import { instanceId, instanceStarts, parseRecurrence } from './recurrence';

/**
 * One primary calendar. Every change bumps `seq`; an event remembers the `seq` of its last
 * change, so a sync token is just "changes after seq N" plus a generation that the admin API
 * bumps to invalidate every outstanding token.
 */

export type EventTime = { dateTime: string; timeZone?: string } | { date: string };

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

export type EventPatch = Partial<Pick<StoredEvent, 'summary' | 'start' | 'end' | 'description'>>;

export interface Channel {
  id: string;
  resourceId: string;
  address: string;
  token: string | undefined;
  expiration: number;
  ownerEmail: string;
  clientId: string;
  nextMessageNumber: number;
  stopped: boolean;
}

export function eventStartMs(time: EventTime): number {
  return Date.parse('dateTime' in time ? time.dateTime : `${time.date}T00:00:00Z`);
}

export class CalendarData {
  seq = 0;
  generation = 1;
  readonly events = new Map<string, StoredEvent>();
  readonly resourceId: string;

  constructor(
    readonly email: string,
    private readonly random: Random,
  ) {
    this.resourceId = random.hex(27);
  }

  create(
    input: { summary: string; start: EventTime; end: EventTime; description?: string; recurrence?: string[]; attendees?: Attendee[] },
    now: number,
  ): StoredEvent {
    if (input.recurrence !== undefined && parseRecurrence(input.recurrence) === null) throw new Error(`bad recurrence ${input.recurrence.join(';')}`);
    this.seq += 1;
    const event: StoredEvent = {
      id: this.random.hex(26).replace(/^[0-9]/, 'e'),
      summary: input.summary,
      description: input.description ?? '',
      start: input.start,
      end: input.end,
      status: 'confirmed',
      created: now,
      updated: now,
      seq: this.seq,
      sequence: 0,
      recurrence: input.recurrence ?? null,
      attendees: input.attendees ?? [],
      overrides: new Map(),
    };
    this.events.set(event.id, event);
    return event;
  }

  /** A change to an event, a series, or (by instance id) one instance of a series. */
  update(id: string, patch: EventPatch, now: number): StoredEvent {
    const instance = this.instance(id);
    if (instance) {
      const override = instance.event.overrides.get(eventStartMs(instance.originalStart!));
      return this.override(instance, { ...override, ...patch, status: 'confirmed' }, now);
    }
    const event = this.live(id);
    Object.assign(event, patch);
    event.sequence += 1;
    return this.touch(event, now);
  }

  /** Deletes an event, a series, or (by instance id) one instance of a series. */
  cancel(id: string, now: number): StoredEvent {
    const instance = this.instance(id);
    if (instance) return this.override(instance, { ...instance.event.overrides.get(eventStartMs(instance.originalStart!)), status: 'cancelled' }, now);
    const event = this.live(id);
    event.status = 'cancelled';
    return this.touch(event, now);
  }

  /** Undo of a delete: the same event, live again, with a newer `updated`. */
  restore(id: string, now: number): StoredEvent {
    const event = this.events.get(id);
    if (!event || event.status !== 'cancelled') throw new Error(`no deleted event ${id} in ${this.email}`);
    event.status = 'confirmed';
    return this.touch(event, now);
  }

  /** An attendee's answer to the invitation (the account's own, by default). */
  respond(id: string, email: string, responseStatus: ResponseStatus, now: number): StoredEvent {
    const event = this.live(id);
    const attendee = event.attendees.find((a) => a.email === email);
    if (attendee) attendee.responseStatus = responseStatus;
    else event.attendees.push({ email, responseStatus });
    return this.touch(event, now);
  }

  private touch(event: StoredEvent, now: number): StoredEvent {
    this.seq += 1;
    event.seq = this.seq;
    event.updated = Math.max(now, event.updated + 1);
    return event;
  }

  private override(instance: EventItem, change: Omit<InstanceOverride, 'updated' | 'seq'>, now: number): StoredEvent {
    const key = eventStartMs(instance.originalStart!);
    this.seq += 1;
    instance.event.overrides.set(key, { ...change, updated: Math.max(now, instance.updated + 1), seq: this.seq });
    return instance.event;
  }

  /**
   * Everything events.list can show. With `singleEvents`, series are expanded into their
   * instances (each carrying `recurringEventId` and `originalStartTime`); without, a series
   * is one item and only its changed or cancelled instances appear on their own.
   */
  items(singleEvents: boolean): EventItem[] {
    const out: EventItem[] = [];
    for (const event of this.events.values()) {
      if (event.recurrence === null) out.push(plainItem(event));
      else if (singleEvents) out.push(...expand(event));
      else out.push(plainItem(event), ...expand(event).filter((i) => event.overrides.has(eventStartMs(i.originalStart!))));
    }
    return out;
  }

  /** An event, a series, or an instance by its id (events.get). */
  find(id: string): EventItem | null {
    const event = this.events.get(id);
    return event ? plainItem(event) : this.instance(id);
  }

  private instance(id: string): EventItem | null {
    const series = this.events.get(id.split('_')[0] ?? '');
    if (!series || series.recurrence === null) return null;
    return expand(series).find((i) => i.id === id) ?? null;
  }

  live(id: string): StoredEvent {
    const event = this.events.get(id);
    if (!event || event.status === 'cancelled') throw new Error(`no event ${id} in ${this.email}`);
    return event;
  }

  invalidateSyncTokens(): void {
    this.generation += 1;
  }
}

function plainItem(event: StoredEvent): EventItem {
  return { id: event.id, event, originalStart: null, summary: event.summary, start: event.start, end: event.end, status: event.status, updated: event.updated, seq: event.seq };
}

function shifted(time: EventTime, toMs: number): EventTime {
  if ('date' in time) return { date: new Date(toMs).toISOString().slice(0, 10) };
  return { ...time, dateTime: new Date(toMs).toISOString().replace('.000Z', 'Z') };
}

/** A series' instances, each with its override (if any) applied. */
function expand(series: StoredEvent): EventItem[] {
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
