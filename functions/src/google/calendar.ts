import type { calendar_v3 } from '@googleapis/calendar';
import { isGoogleError } from '../engine/errors';
import type { CalendarApi, CalendarEvent, CalendarListRequest } from '../engine/calendar/ports';
import type { LimitedCall } from './limited-call';

/** One calendar of one account, over @googleapis/calendar, through the account's limiter. */

function parseTime(time: calendar_v3.Schema$EventDateTime | undefined): Date | null {
  const raw = time?.dateTime ?? (time?.date ? `${time.date}T00:00:00Z` : null);
  if (!raw) return null;
  const parsed = new Date(raw);
  return Number.isNaN(parsed.getTime()) ? null : parsed;
}

function toEvent(e: calendar_v3.Schema$Event): CalendarEvent | null {
  if (!e.id) return null;
  const status = e.status === 'cancelled' || e.status === 'tentative' ? e.status : 'confirmed';
  return {
    id: e.id,
    status,
    summary: e.summary ?? null,
    start: parseTime(e.start),
    htmlLink: e.htmlLink ?? null,
    updated: parseInstant(e.updated),
    sequence: e.sequence ?? 0,
    declinedBySelf: (e.attendees ?? []).some((a) => a.self === true && a.responseStatus === 'declined'),
  };
}

function parseInstant(raw: string | null | undefined): Date | null {
  const parsed = raw ? new Date(raw) : null;
  return parsed && !Number.isNaN(parsed.getTime()) ? parsed : null;
}

export class CalendarAdapter implements CalendarApi {
  constructor(
    private readonly client: calendar_v3.Calendar,
    private readonly call: LimitedCall,
    private readonly calendarId: string,
  ) {}


  async listEvents(request: CalendarListRequest) {
    // Every parameter but the token must match between the full sync and its increments.
    const common = { calendarId: this.calendarId, singleEvents: true, maxResults: request.maxResults, ...(request.pageToken !== null && { pageToken: request.pageToken }) };
    const params =
      'syncToken' in request
        ? { ...common, syncToken: request.syncToken }
        : 'updatedMin' in request
          ? { ...common, updatedMin: request.updatedMin.toISOString() }
          : { ...common, timeMin: request.timeMin.toISOString(), ...(request.timeMax !== undefined && { timeMax: request.timeMax.toISOString() }) };
    const { data } = await this.call('calendar.events.list', () => this.client.events.list(params));
    return {
      events: (data.items ?? []).map(toEvent).filter((e): e is CalendarEvent => e !== null),
      nextPageToken: data.nextPageToken ?? null,
      nextSyncToken: data.nextSyncToken ?? null,
      updated: parseInstant(data.updated),
    };
  }

  async getEvent(id: string): Promise<CalendarEvent | null> {
    try {
      const { data } = await this.call('calendar.events.get', () => this.client.events.get({ calendarId: this.calendarId, eventId: id }));
      return toEvent(data);
    } catch (error) {
      // 404, or 410 "Resource has been deleted": the event is gone for good.
      if (isGoogleError(error, 'not-found') || isGoogleError(error, 'cursor-invalid')) return null;
      throw error;
    }
  }

  async watch(channel: { id: string; address: string; token: string; ttlSeconds: number }) {
    const { data } = await this.call('calendar.events.watch', () =>
      this.client.events.watch({
        calendarId: this.calendarId,
        requestBody: { id: channel.id, type: 'web_hook', address: channel.address, token: channel.token, params: { ttl: String(channel.ttlSeconds) } },
      }),
    );
    return { resourceId: data.resourceId ?? '', expiration: new Date(Number(data.expiration ?? 0)) };
  }

  async stopChannel(channelId: string, resourceId: string) {
    await this.call('calendar.channels.stop', () => this.client.channels.stop({ requestBody: { id: channelId, resourceId } }));
  }
}
