import { apiCall } from './api-call';
import type { CalendarData } from './calendar-data';
import { registerCalendarChannels } from './calendar-channels';
import { registerCalendarList } from './calendar-list-api';
import { CALENDAR_SCOPES, decode, encode, eventResource, FORBIDDEN_WITH_SYNC_TOKEN, listedItems, resolveCalendar, type CalendarCall, type PageState, type SyncTokenState } from './calendar-resources';
import { errors } from './google-errors';
import type { Router } from './http';
import type { World } from './world';

/** Calendar v3: events.list / events.get on every calendar in the caller's list; the rest registers from here. */

export { UPDATED_MIN_MAX_AGE_MS } from './calendar-resources';

export { CALENDAR_SCOPES, resolveCalendar, type CalendarCall } from './calendar-resources';

/** Where this listing page starts and stops: a page token, a sync token, or a fresh full listing. */
function pageOf(calendar: CalendarData, query: URLSearchParams, now: number): PageState {
  const pageToken = query.get('pageToken');
  if (pageToken !== null) {
    const decoded = decode<PageState>(pageToken);
    if (!decoded) throw errors.badRequest('Invalid page token value.', 'invalid', 'pageToken');
    if (decoded.g !== calendar.generation && decoded.from >= 0) throw errors.fullSyncRequired();
    return decoded;
  }
  const syncToken = query.get('syncToken');
  if (syncToken === null) return { s: calendar.readableSeq(now), from: -1, offset: 0, g: calendar.generation };
  const forbidden = FORBIDDEN_WITH_SYNC_TOKEN.find((p) => query.get(p) !== null);
  if (forbidden) throw errors.badRequest(`The '${forbidden}' parameter is not compatible with 'syncToken'.`, 'invalid', forbidden);
  const token = decode<SyncTokenState>(syncToken);
  if (!token || token.g !== calendar.generation || token.s > calendar.seq) throw errors.fullSyncRequired();
  return { s: calendar.readableSeq(now), from: token.s, offset: 0, g: calendar.generation };
}

export function registerCalendar(router: Router, world: World): void {
  const call: CalendarCall = (method, run) => apiCall(world, method, CALENDAR_SCOPES, run);

  router.on('GET', '/calendar/v3/calendars/:calendarId/events', call('calendar.events.list', (context) => {
    const { calendar, entry } = resolveCalendar(world, context);
    const { query } = context.request;
    const max = Math.min(Number(query.get('maxResults') ?? 250), 2500);
    if (!Number.isInteger(max) || max < 1) throw errors.badRequest('Invalid maxResults', 'invalid', 'maxResults');
    const page = pageOf(calendar, query, context.now);
    const matching = listedItems(calendar, page, query, context.now);
    const view = { calendar, viewer: context.account.email, role: entry.accessRole };
    const body: Record<string, unknown> = {
      kind: 'calendar#events',
      etag: `"${calendar.seq}"`,
      summary: calendar.summary,
      updated: new Date(context.now).toISOString(),
      timeZone: calendar.timeZone,
      accessRole: entry.accessRole,
      defaultReminders: entry.defaultReminders,
      items: matching.slice(page.offset, page.offset + max).map((e) => eventResource(e, view)),
    };
    if (page.offset + max < matching.length) body.nextPageToken = encode({ ...page, offset: page.offset + max });
    else body.nextSyncToken = encode({ g: page.g, s: page.s } satisfies SyncTokenState);
    return { status: 200, body };
  }));

  router.on('GET', '/calendar/v3/calendars/:calendarId/events/:eventId', call('calendar.events.get', (context) => {
    const { calendar, entry } = resolveCalendar(world, context);
    // Deleted events stay readable, with status `cancelled`, as at Google.
    const item = calendar.find(context.request.params.eventId ?? '');
    if (!item) throw errors.notFound('Not Found');
    return { status: 200, body: eventResource(item, { calendar, viewer: context.account.email, role: entry.accessRole }) };
  }));

  registerCalendarChannels(router, world, call);
  registerCalendarList(router, world, call);
}
