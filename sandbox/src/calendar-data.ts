import { expand, plainItem, readableVersion, snapshot, eventStartMs, type Attendee, type EventItem, type EventReminders, type EventTime, type EventType, type InstanceOverride, type ResponseStatus, type StoredEvent } from './calendar-items';
import { visibleAt } from './lag';
import type { Random } from './random';
import { parseRecurrence } from './recurrence';

export type { Attendee, EventItem, EventReminders, EventTime, EventType, ResponseStatus, StoredEvent };
export { eventStartMs };

/**
 * One calendar (an account's primary one has the account's address as its id). Every change bumps `seq`; an event remembers the `seq` of its last change, so
 * a sync token is just "changes after seq N" plus a generation that the admin API bumps to
 * invalidate every outstanding token. Under read-after-push lag a change is readable only
 * from a later time: until then reads serve the event's previous version.
 */

export type EventPatch = Partial<Pick<StoredEvent, 'summary' | 'start' | 'end' | 'description'>>;

export interface EventInput {
  summary: string;
  start: EventTime;
  end: EventTime;
  description?: string;
  recurrence?: string[];
  attendees?: Attendee[];
  eventType?: EventType;
  reminders?: EventReminders;
}

export type AccessRole = 'owner' | 'writer' | 'reader' | 'freeBusyReader';

export interface Channel {
  id: string;
  /** What the channel watches: one calendar's events, or the owner's calendar list. */
  watches: { kind: 'events'; calendarId: string; eventTypes: EventType[] } | { kind: 'calendarList' };
  resourceId: string;
  address: string;
  token: string | undefined;
  expiration: number;
  ownerEmail: string;
  clientId: string;
  nextMessageNumber: number;
  stopped: boolean;
}

export class CalendarData {
  seq = 0;
  generation = 1;
  readonly events = new Map<string, StoredEvent>();
  readonly resourceId: string;
  summary: string;
  readonly timeZone = 'UTC';
  /** Who may do what besides the data owner, by address (Google's ACL, reduced to users). */
  readonly acl = new Map<string, AccessRole>();
  private lastVisibleAt = 0;
  /** Changes not yet readable, oldest first (their visibility times never decrease). */
  private readonly hidden: { seq: number; visibleAt: number }[] = [];

  constructor(
    readonly id: string,
    readonly ownerEmail: string,
    private readonly random: Random,
    /** The read-after-push lag of a change made now (0: readable at once). */
    private readonly lagMs: () => number = () => 0,
  ) {
    this.resourceId = random.hex(27);
    this.summary = id;
    this.acl.set(ownerEmail, 'owner');
  }

  create(input: EventInput, now: number): StoredEvent {
    if (input.recurrence !== undefined && parseRecurrence(input.recurrence) === null) throw new Error(`bad recurrence ${input.recurrence.join(';')}`);
    const readableFrom = this.beginChange(null, now);
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
      eventType: input.eventType ?? 'default',
      reminders: input.reminders ?? { useDefault: true },
      visibleAt: now,
      prior: null,
    };
    this.events.set(event.id, event);
    this.endChange(event, readableFrom, now);
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
    return this.change(event, now, () => {
      Object.assign(event, patch);
      event.sequence += 1;
    });
  }

  /** Deletes an event, a series, or (by instance id) one instance of a series. */
  cancel(id: string, now: number): StoredEvent {
    const instance = this.instance(id);
    if (instance) return this.override(instance, { ...instance.event.overrides.get(eventStartMs(instance.originalStart!)), status: 'cancelled' }, now);
    const event = this.live(id);
    return this.change(event, now, () => (event.status = 'cancelled'));
  }

  /** Undo of a delete: the same event, live again, with a newer `updated`. */
  restore(id: string, now: number): StoredEvent {
    const event = this.events.get(id);
    if (!event || event.status !== 'cancelled') throw new Error(`no deleted event ${id} in ${this.id}`);
    return this.change(event, now, () => (event.status = 'confirmed'));
  }

  /** An attendee's answer to the invitation (the account's own, by default). */
  respond(id: string, email: string, responseStatus: ResponseStatus, now: number): StoredEvent {
    const event = this.live(id);
    return this.change(event, now, () => {
      const attendee = event.attendees.find((a) => a.email === email);
      if (attendee) attendee.responseStatus = responseStatus;
      else event.attendees.push({ email, responseStatus });
    });
  }

  private change(event: StoredEvent, now: number, mutate: () => void): StoredEvent {
    const readableFrom = this.beginChange(event, now);
    mutate();
    this.seq += 1;
    event.seq = this.seq;
    event.updated = Math.max(now, event.updated + 1);
    this.endChange(event, readableFrom, now);
    return event;
  }

  private override(instance: EventItem, change: Omit<InstanceOverride, 'updated' | 'seq'>, now: number): StoredEvent {
    const key = eventStartMs(instance.originalStart!);
    const readableFrom = this.beginChange(instance.event, now);
    this.seq += 1;
    instance.event.overrides.set(key, { ...change, updated: Math.max(now, instance.updated + 1), seq: this.seq });
    this.endChange(instance.event, readableFrom, now);
    return instance.event;
  }

  /** Fixes when a change made now becomes readable and, if later, keeps the version reads serve until then. */
  private beginChange(event: StoredEvent | null, now: number): number {
    this.lastVisibleAt = visibleAt(now, this.lagMs(), this.lastVisibleAt);
    if (event) event.prior = this.lastVisibleAt > now ? snapshot(event) : null;
    return this.lastVisibleAt;
  }

  private endChange(event: StoredEvent, readableFrom: number, now: number): void {
    event.visibleAt = readableFrom;
    if (readableFrom > now) this.hidden.push({ seq: this.seq, visibleAt: readableFrom });
  }

  /** The last change reads serve at `now`: listings and their sync tokens stop there. */
  readableSeq(now: number): number {
    while (this.hidden.length > 0 && this.hidden[0]!.visibleAt <= now) this.hidden.shift();
    return this.hidden.length === 0 ? this.seq : this.hidden[0]!.seq - 1;
  }

  /**
   * Everything events.list can show at `now`. With `singleEvents`, series are expanded into
   * their instances (each carrying `recurringEventId` and `originalStartTime`); without, a
   * series is one item and only its changed or cancelled instances appear on their own.
   */
  items(singleEvents: boolean, now: number): EventItem[] {
    const out: EventItem[] = [];
    for (const current of this.events.values()) {
      const event = readableVersion(current, now);
      if (event === null) continue;
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
    if (!event || event.status === 'cancelled') throw new Error(`no event ${id} in ${this.id}`);
    return event;
  }

  invalidateSyncTokens(): void {
    this.generation += 1;
  }
}
