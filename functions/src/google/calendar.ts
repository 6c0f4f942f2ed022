import type { calendar_v3 } from '@googleapis/calendar';
import { isGoogleError } from '../engine/errors';
import type { CalendarApi, CalendarEvent, CalendarListEntry, CalendarListRequest, ChannelRequest } from '../engine/calendar/ports';
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
    ...kindOf(e),
  };
}

/** What the event rules look at: its type, whether it is all-day, the account's part in it. */
function kindOf(e: calendar_v3.Schema$Event): Pick<CalendarEvent, 'declinedBySelf' | 'eventType' | 'allDay' | 'mine'> {
  const response = (e.attendees ?? []).find((a) => a.self === true)?.responseStatus ?? null;
  return {
    declinedBySelf: response === 'declined',
    eventType: e.eventType ?? 'default',
    allDay: !e.start?.dateTime && Boolean(e.start?.date),
    mine: e.organizer?.self === true || response === 'accepted',
  };
}

function parseInstant(raw: string | null | undefined): Date | null {
  const parsed = raw ? new Date(raw) : null;
  return parsed && !Number.isNaN(parsed.getTime()) ? parsed : null;
}

function channelBody(channel: ChannelRequest): calendar_v3.Schema$Channel {
  return { id: channel.id, type: 'web_hook', address: channel.address, token: channel.token, params: { ttl: String(channel.ttlSeconds) } };
}

function openedChannel(data: calendar_v3.Schema$Channel): { resourceId: string; expiration: Date } {
  return { resourceId: data.resourceId ?? '', expiration: new Date(Number(data.expiration ?? 0)) };
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

  async watch(channel: ChannelRequest) {
    const { data } = await this.call('calendar.events.watch', () => this.client.events.watch({ calendarId: this.calendarId, requestBody: channelBody(channel) }));
    return openedChannel(data);
  }

  async watchCalendarList(channel: ChannelRequest) {
    const { data } = await this.call('calendar.calendarList.watch', () => this.client.calendarList.watch({ requestBody: channelBody(channel) }));
    return openedChannel(data);
  }

  async listCalendars(): Promise<CalendarListEntry[]> {
    const entries: CalendarListEntry[] = [];
    let pageToken: string | undefined;
    do {
      const { data } = await this.call('calendar.calendarList.list', () => this.client.calendarList.list({ maxResults: 250, ...(pageToken !== undefined && { pageToken }) }));
      for (const e of data.items ?? []) {
        if (e.id && isAccessRole(e.accessRole)) entries.push({ id: e.id, summary: e.summaryOverride ?? e.summary ?? e.id, accessRole: e.accessRole, primary: e.primary === true });
      }
      pageToken = data.nextPageToken ?? undefined;
    } while (pageToken !== undefined);
    return entries;
  }

  async stopChannel(channelId: string, resourceId: string) {
    await this.call('calendar.channels.stop', () => this.client.channels.stop({ requestBody: { id: channelId, resourceId } }));
  }
}

const ACCESS_ROLES: readonly string[] = ['owner', 'writer', 'reader', 'freeBusyReader'];
function isAccessRole(role: string | null | undefined): role is CalendarListEntry['accessRole'] {
  return role !== null && role !== undefined && ACCESS_ROLES.includes(role);
}
