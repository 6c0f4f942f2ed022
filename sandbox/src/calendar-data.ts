import type { Random } from './random';

/**
 * One primary calendar. Every change bumps `seq`; an event remembers the `seq` of its last
 * change, so a sync token is just "changes after seq N" plus a generation that the admin API
 * bumps to invalidate every outstanding token.
 */

export type EventTime = { dateTime: string; timeZone?: string } | { date: string };

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
}

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

  create(input: { summary: string; start: EventTime; end: EventTime; description?: string }, now: number): StoredEvent {
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
    };
    this.events.set(event.id, event);
    return event;
  }

  update(id: string, patch: Partial<Pick<StoredEvent, 'summary' | 'start' | 'end' | 'description'>>, now: number): StoredEvent {
    const event = this.live(id);
    Object.assign(event, patch);
    this.seq += 1;
    event.seq = this.seq;
    event.updated = Math.max(now, event.updated + 1);
    return event;
  }

  cancel(id: string, now: number): StoredEvent {
    const event = this.live(id);
    event.status = 'cancelled';
    this.seq += 1;
    event.seq = this.seq;
    event.updated = Math.max(now, event.updated + 1);
    return event;
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
