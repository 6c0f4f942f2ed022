import type { AccessRole } from './calendar-data';
import { ROLE_RANK, type ListEntry } from './calendar-list';
import { decode, encode, type CalendarCall } from './calendar-resources';
import { errors } from './google-errors';
import type { Router } from './http';
import type { Account, World } from './world';

/** calendarList.list: the caller's calendars with their access roles, paged, with sync tokens. */

interface ListPage {
  /** Snapshot seq, the sync token the last page hands out. */
  s: number;
  /** Only entries changed after this seq (incremental), or -1 for a full listing. */
  from: number;
  offset: number;
}

const ROLES = Object.keys(ROLE_RANK) as AccessRole[];

function entryResource(world: World, entry: ListEntry) {
  const base = { kind: 'calendar#calendarListEntry', etag: `"${entry.seq}"`, id: entry.calendarId };
  if (entry.deleted) return { ...base, deleted: true };
  const calendar = world.calendars.get(entry.calendarId);
  return {
    ...base,
    summary: calendar?.summary ?? entry.calendarId,
    timeZone: calendar?.timeZone ?? 'UTC',
    colorId: entry.primary ? '14' : '7',
    backgroundColor: entry.primary ? '#9fe1e7' : '#42d692',
    foregroundColor: '#000000',
    selected: true,
    accessRole: entry.accessRole,
    defaultReminders: entry.defaultReminders,
    ...(entry.primary && { primary: true }),
  };
}

function pageOf(account: Account, query: URLSearchParams): ListPage {
  const list = account.calendarList;
  const pageToken = query.get('pageToken');
  if (pageToken !== null) {
    const page = decode<ListPage>(pageToken);
    if (!page) throw errors.badRequest('Invalid page token value.', 'invalid', 'pageToken');
    return page;
  }
  const syncToken = query.get('syncToken');
  if (syncToken === null) return { s: list.seq, from: -1, offset: 0 };
  if (query.get('minAccessRole') !== null) {
    throw errors.badRequest("The 'minAccessRole' parameter is not compatible with 'syncToken'.", 'invalid', 'minAccessRole');
  }
  const token = decode<{ s: number; g: number }>(syncToken);
  if (!token || token.g !== list.generation || token.s > list.seq) throw errors.fullSyncRequired();
  return { s: list.seq, from: token.s, offset: 0 };
}

function minRole(raw: string | null): number {
  if (raw === null) return 0;
  if (!ROLES.includes(raw as AccessRole)) throw errors.badRequest(`Invalid value for minAccessRole: ${raw}`, 'invalid', 'minAccessRole');
  return ROLE_RANK[raw as AccessRole];
}

export function registerCalendarList(router: Router, world: World, call: CalendarCall): void {
  router.on('GET', '/calendar/v3/users/me/calendarList', call('calendar.calendarList.list', ({ request, account }) => {
    const { query } = request;
    const max = Math.min(Number(query.get('maxResults') ?? 100), 250);
    if (!Number.isInteger(max) || max < 1) throw errors.badRequest('Invalid maxResults', 'invalid', 'maxResults');
    const page = pageOf(account, query);
    const least = minRole(query.get('minAccessRole'));
    // Incremental syncs always carry removed entries; a full listing only with showDeleted.
    const withDeleted = page.from >= 0 || query.get('showDeleted') === 'true';
    const matching = [...account.calendarList.entries.values()]
      .filter((e) => e.seq <= page.s && e.seq > page.from)
      .filter((e) => withDeleted || !e.deleted)
      .filter((e) => e.deleted || ROLE_RANK[e.accessRole] >= least)
      .sort((a, b) => a.seq - b.seq);
    const body: Record<string, unknown> = {
      kind: 'calendar#calendarList',
      etag: `"${account.calendarList.seq}"`,
      items: matching.slice(page.offset, page.offset + max).map((e) => entryResource(world, e)),
    };
    if (page.offset + max < matching.length) body.nextPageToken = encode({ ...page, offset: page.offset + max });
    else body.nextSyncToken = encode({ s: page.s, g: account.calendarList.generation });
    return { status: 200, body };
  }));
}
