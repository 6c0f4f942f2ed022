import type { CalendarApi, CalendarEvent, CalendarListRequest } from '../../functions/src/engine/calendar/ports';
import type { GoogleAccess } from '../../functions/src/engine/ports';
import type { GoogleError } from '../../functions/src/engine/errors';
import type { InMemoryMailbox } from './in-memory';

/**
 * One calendar behind the engine's Calendar port: every change gets the next sequence number,
 * a sync token is the sequence it was handed out at, and an incremental listing shows the
 * events changed after it (one page). `refusal`, when set, is what every call answers.
 */
export class InMemoryCalendar implements CalendarApi {
  private sequence = 0;
  private readonly changes = new Map<string, { event: CalendarEvent; sequence: number }>();
  refusal: GoogleError | null = null;
  readonly calls: Record<string, number> = {};

  put(event: CalendarEvent): void {
    this.sequence += 1;
    this.changes.set(event.id, { event, sequence: this.sequence });
  }

  /** The token a listing made now would hand out. */
  syncToken(): string {
    return String(this.sequence);
  }

  private async call(operation: string): Promise<void> {
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    await Promise.resolve();
    if (this.refusal !== null) throw this.refusal;
  }

  async listEvents(request: CalendarListRequest) {
    await this.call('listEvents');
    const after = 'syncToken' in request ? Number(request.syncToken) : 0;
    const events = [...this.changes.values()].filter((c) => c.sequence > after).map((c) => c.event);
    const updated = events.reduce<Date | null>((latest, e) => (e.updated !== null && (latest === null || e.updated > latest) ? e.updated : latest), null);
    return { events, nextPageToken: null, nextSyncToken: this.syncToken(), updated };
  }

  async getEvent(id: string): Promise<CalendarEvent | null> {
    await this.call('getEvent');
    return this.changes.get(id)?.event ?? null;
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

/** Google access for one mailbox and the given calendars, by calendar id. */
export function accessToCalendars(mailbox: InMemoryMailbox, calendars: Record<string, InMemoryCalendar>): GoogleAccess {
  return {
    gmail: () => Promise.resolve(mailbox),
    calendar: (_source, calendarId = 'primary') => {
      const calendar = calendars[calendarId];
      return calendar ? Promise.resolve(calendar) : Promise.reject(new Error(`no calendar ${calendarId} in this test`));
    },
    warmGmail: () => null,
  };
}
