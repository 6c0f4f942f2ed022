import { apiCall, type ApiContext } from './api-call';
import { eventStartMs, type CalendarData, type EventItem } from './calendar-data';
import { errors, GoogleApiError } from './google-errors';
import type { Reply, Router } from './http';
import { WATCH_TTL_MS, type World } from './world';

/** Calendar v3 events.list / events.watch / channels.stop, on each account's primary calendar. */

const CALENDAR_SCOPES = [
  'https://www.googleapis.com/auth/calendar',
  'https://www.googleapis.com/auth/calendar.readonly',
  'https://www.googleapis.com/auth/calendar.events',
  'https://www.googleapis.com/auth/calendar.events.readonly',
];
const FORBIDDEN_WITH_SYNC_TOKEN = ['iCalUID', 'orderBy', 'q', 'timeMin', 'timeMax', 'updatedMin', 'privateExtendedProperty', 'sharedExtendedProperty'];
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
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

interface SyncTokenState {
  g: number;
  s: number;
}
interface PageState {
  /** Snapshot seq: the sync token the last page will hand out. */
  s: number;
  /** Only changes after this seq (incremental), or -1 for a full listing. */
  from: number;
  offset: number;
  g: number;
}

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decode<T>(raw: string): T | null {
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

function eventResource(item: EventItem, email: string) {
  const event = item.event;
  if (item.status === 'cancelled') {
    return { kind: 'calendar#event', etag: `"${item.seq}"`, id: item.id, status: 'cancelled', updated: new Date(item.updated).toISOString(), ...seriesFields(item) };
  }
  return {
    kind: 'calendar#event',
    etag: `"${item.seq}"`,
    id: item.id,
    status: item.status,
    htmlLink: `https://www.google.com/calendar/event?eid=${Buffer.from(`${item.id} ${email}`).toString('base64url')}`,
    created: new Date(event.created).toISOString(),
    updated: new Date(item.updated).toISOString(),
    summary: item.summary,
    description: event.description,
    creator: { email, self: true },
    organizer: { email, self: true },
    start: item.start,
    end: item.end,
    ...seriesFields(item),
    iCalUID: `${event.id}@google.com`,
    sequence: event.sequence,
    ...(event.attendees.length > 0 && {
      attendees: event.attendees.map((a) => ({ email: a.email, responseStatus: a.responseStatus, ...(a.email === email && { self: true }) })),
    }),
    eventType: 'default',
  };
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
function listedItems(calendar: CalendarData, page: PageState, query: URLSearchParams, now: number): EventItem[] {
  const singleEvents = query.get('singleEvents') === 'true';
  const showDeleted = query.get('showDeleted') === 'true';
  // updatedMin lists deletions too, as Google does.
  const updatedSince = updatedMinFilter(query.get('updatedMin'), now);
  const minMs = parseBound(query, 'timeMin');
  const maxMs = parseBound(query, 'timeMax');
  const q = query.get('q');
  const incremental = page.from >= 0;
  const items = calendar
    .items(singleEvents, now)
    .filter((e) => e.seq <= page.s && (incremental ? e.seq > page.from : showDeleted || updatedSince !== null || e.status !== 'cancelled'))
    .filter((e) => updatedSince === null || updatedSince(e))
    .filter((e) => minMs === null || eventStartMs(e.end) > minMs)
    .filter((e) => maxMs === null || eventStartMs(e.start) < maxMs)
    .filter((e) => matchesText(e, q));
  return ordered(items, query.get('orderBy'), singleEvents);
}

function resolveCalendar(context: ApiContext): void {
  const id = context.request.params.calendarId;
  if (id !== 'primary' && id !== context.account.email) throw errors.notFound('Not Found');
}

export function registerCalendar(router: Router, world: World): void {
  const call = (method: string, run: (c: ApiContext) => Reply | Promise<Reply>) => apiCall(world, method, CALENDAR_SCOPES, run);

  router.on(
    'GET',
    '/calendar/v3/calendars/:calendarId/events',
    call('calendar.events.list', (context) => {
      resolveCalendar(context);
      const { query } = context.request;
      const calendar = context.account.calendar;
      const max = Math.min(Number(query.get('maxResults') ?? 250), 2500);
      if (!Number.isInteger(max) || max < 1) throw errors.badRequest('Invalid maxResults', 'invalid', 'maxResults');
      const syncToken = query.get('syncToken');
      const pageToken = query.get('pageToken');

      let page: PageState;
      if (pageToken !== null) {
        const decoded = decode<PageState>(pageToken);
        if (!decoded) throw errors.badRequest('Invalid page token value.', 'invalid', 'pageToken');
        if (decoded.g !== calendar.generation && decoded.from >= 0) throw errors.fullSyncRequired();
        page = decoded;
      } else if (syncToken !== null) {
        const forbidden = FORBIDDEN_WITH_SYNC_TOKEN.find((p) => query.get(p) !== null);
        if (forbidden) {
          throw errors.badRequest(`The '${forbidden}' parameter is not compatible with 'syncToken'.`, 'invalid', forbidden);
        }
        const token = decode<SyncTokenState>(syncToken);
        if (!token || token.g !== calendar.generation || token.s > calendar.seq) throw errors.fullSyncRequired();
        page = { s: calendar.readableSeq(context.now), from: token.s, offset: 0, g: calendar.generation };
      } else {
        page = { s: calendar.readableSeq(context.now), from: -1, offset: 0, g: calendar.generation };
      }

      const matching = listedItems(calendar, page, query, context.now);
      const items = matching.slice(page.offset, page.offset + max);
      const body: Record<string, unknown> = {
        kind: 'calendar#events',
        etag: `"${calendar.seq}"`,
        summary: context.account.email,
        updated: new Date(context.now).toISOString(),
        timeZone: 'UTC',
        accessRole: 'owner',
        items: items.map((e) => eventResource(e, context.account.email)),
      };
      if (page.offset + max < matching.length) {
        body.nextPageToken = encode({ ...page, offset: page.offset + max });
      } else {
        body.nextSyncToken = encode({ g: page.g, s: page.s } satisfies SyncTokenState);
      }
      return { status: 200, body };
    }),
  );

  router.on(
    'GET',
    '/calendar/v3/calendars/:calendarId/events/:eventId',
    call('calendar.events.get', (context) => {
      resolveCalendar(context);
      // Deleted events stay readable, with status `cancelled`, as at Google.
      const item = context.account.calendar.find(context.request.params.eventId ?? '');
      if (!item) throw errors.notFound('Not Found');
      return { status: 200, body: eventResource(item, context.account.email) };
    }),
  );

  router.on(
    'POST',
    '/calendar/v3/calendars/:calendarId/events/watch',
    call('calendar.events.watch', (context) => {
      resolveCalendar(context);
      const body = (context.request.body ?? {}) as Record<string, unknown>;
      const { id, type, address, token } = body;
      if (typeof id !== 'string' || id.length === 0 || id.length > 64 || !/^[A-Za-z0-9\-_+/=]+$/.test(id)) {
        throw errors.badRequest('Invalid channel id.', 'invalid');
      }
      if (type !== 'web_hook' && type !== 'webhook') throw errors.badRequest('Invalid channel type.', 'invalid');
      let url: URL;
      try {
        url = new URL(String(address));
      } catch {
        throw errors.badRequest('Invalid address.', 'invalid');
      }
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname))) {
        throw new GoogleApiError(400, `WebHook callback must be HTTPS: ${String(address)}`, { domain: 'global', reason: 'push.webhookUrlNotHttps' });
      }
      if (token !== undefined && (typeof token !== 'string' || token.length > 256)) throw errors.badRequest('Invalid channel token.', 'invalid');
      if (world.channels.has(id)) {
        throw new GoogleApiError(400, `Channel id ${id} not unique`, { reason: 'channelIdNotUnique' });
      }
      const params = (body.params ?? {}) as Record<string, unknown>;
      const ttlSeconds = params.ttl === undefined ? null : Number(params.ttl);
      const requested = body.expiration === undefined ? null : Number(body.expiration);
      const maxExpiration = context.now + WATCH_TTL_MS;
      const expiration = Math.min(
        requested ?? (ttlSeconds !== null && Number.isFinite(ttlSeconds) ? context.now + ttlSeconds * 1000 : maxExpiration),
        maxExpiration,
      );
      const account = context.account;
      const channel = {
        id,
        resourceId: account.calendar.resourceId,
        address: url.toString(),
        token: typeof token === 'string' ? token : undefined,
        expiration,
        ownerEmail: account.email,
        clientId: context.grant.clientId,
        nextMessageNumber: 1,
        stopped: false,
      };
      world.channels.set(id, channel);
      // The first notification, `sync`, may arrive before this response does.
      world.push.notifyCalendar(channel, 'sync', world.calendarResourceUri(account));
      const reply: Record<string, unknown> = {
        kind: 'api#channel',
        id,
        resourceId: channel.resourceId,
        resourceUri: world.calendarResourceUri(account),
        expiration: String(expiration),
      };
      if (channel.token !== undefined) reply.token = channel.token;
      return { status: 200, body: reply };
    }),
  );

  router.on(
    'POST',
    '/calendar/v3/channels/stop',
    call('calendar.channels.stop', ({ request, account, grant }) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const channel = typeof body.id === 'string' ? world.channels.get(body.id) : undefined;
      if (!channel || channel.resourceId !== body.resourceId) {
        throw errors.notFound(`Channel '${String(body.id)}' not found for project`);
      }
      if (channel.ownerEmail !== account.email || channel.clientId !== grant.clientId) {
        throw errors.forbidden('Channel is not owned by the caller.', 'forbidden');
      }
      channel.stopped = true;
      world.channels.delete(channel.id);
      return { status: 204 };
    }),
  );
}
