import type { CalendarApi, CalendarEvent, CalendarListRequest } from '../../functions/src/engine/calendar/ports';
import type { GmailApi } from '../../functions/src/engine/gmail/ports';
import type { GoogleAccess } from '../../functions/src/engine/ports';
import { GoogleError } from '../../functions/src/engine/errors';
import { calendarEvent } from './builders';

/**
 * One calendar behind the engine's Calendar port, as the sandbox keeps it: every change takes
 * the next sequence number, and a sync token is "the changes after sequence N", so a listing
 * that shows nothing answers the token it began from. `invalidateTokens` makes older tokens 410;
 * `refusal`, when set, is what every call answers.
 */
export class InMemoryCalendar implements CalendarApi {
  private seq = 0;
  private oldestValidToken = 0;
  private readonly events = new Map<string, { seq: number; event: CalendarEvent }>();
  readonly calls: Record<string, number> = {};
  /** Runs before every call: a test's hook to fail a call or change the calendar meanwhile. */
  beforeCall: ((operation: string) => void) | null = null;
  refusal: GoogleError | null = null;

  private call(operation: string): void {
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    this.beforeCall?.(operation);
    if (this.refusal !== null) throw this.refusal;
  }

  /** Creates or changes an event starting at `start`. */
  change(id: string, start: Date, summary = id): void {
    this.seq += 1;
    this.events.set(id, { seq: this.seq, event: calendarEvent({ id, summary, start, updated: new Date(Date.UTC(2026, 11, 1, 0, 0, this.seq)) }) });
  }

  /** Creates or changes an event as given. */
  put(event: CalendarEvent): void {
    this.seq += 1;
    this.events.set(event.id, { seq: this.seq, event });
  }

  /** The token a listing made now would hand out. */
  syncToken(): string {
    return String(this.seq);
  }

  invalidateTokens(): void {
    this.oldestValidToken = this.seq;
  }

  async listEvents(request: CalendarListRequest) {
    await Promise.resolve();
    this.call('listEvents');
    let events = [...this.events.values()];
    if ('syncToken' in request) {
      const from = Number(request.syncToken);
      if (from < this.oldestValidToken) throw new GoogleError('cursor-invalid', 'Sync token is no longer valid, a full sync is required.', { status: 410 });
      events = events.filter((e) => e.seq > from);
    } else if ('timeMin' in request) {
      events = events.filter(({ event }) => event.start !== null && event.start >= request.timeMin && (request.timeMax === undefined || event.start < request.timeMax));
    }
    const offset = request.pageToken === null ? 0 : Number(request.pageToken);
    const page = events.slice(offset, offset + request.maxResults).map((e) => e.event);
    const more = offset + request.maxResults < events.length;
    return { events: page, nextPageToken: more ? String(offset + request.maxResults) : null, nextSyncToken: more ? null : this.syncToken(), updated: lastUpdated(page) };
  }

  async getEvent(id: string): Promise<CalendarEvent | null> {
    await Promise.resolve();
    this.call('getEvent');
    return this.events.get(id)?.event ?? null;
  }

  watch(): Promise<never> {
    return Promise.reject(new Error('no channels in this test'));
  }

  watchCalendarList(): Promise<never> {
    return Promise.reject(new Error('no channels in this test'));
  }

  stopChannel(): Promise<never> {
    return Promise.reject(new Error('no channels in this test'));
  }

  listCalendars(): Promise<never> {
    return Promise.reject(new Error('no calendar list in this test'));
  }
}

function lastUpdated(events: readonly CalendarEvent[]): Date | null {
  return events.reduce<Date | null>((latest, e) => (e.updated !== null && (latest === null || e.updated > latest) ? e.updated : latest), null);
}

/** Google access for one mailbox and calendars by id. */
export function accessToCalendars(mailbox: GmailApi, calendars: Record<string, InMemoryCalendar>): GoogleAccess {
  return {
    gmail: () => Promise.resolve(mailbox),
    calendar: (_source, calendarId = 'primary') => {
      const calendar = calendars[calendarId];
      return calendar ? Promise.resolve(calendar) : Promise.reject(new Error(`no calendar ${calendarId} in this test`));
    },
    warmGmail: () => null,
  };
}
