import { PRIMARY_CALENDAR, type CalendarState, type SourceData } from '../model';

/**
 * Each synced calendar's state, by calendar id. The primary calendar's lives in the source's
 * flat `calendar*` fields, where every earlier version wrote it, so a source written before
 * calendars could be chosen reads as the primary calendar's state with nothing migrated; the
 * others' live in `calendars`. Only these functions know where a calendar's state is stored.
 * The primary calendar's failed passes are the source's `consecutiveErrors`: its `syncErrors`
 * reads 0 and is never written.
 */

export const EMPTY_CALENDAR_STATE: CalendarState = { channelId: null, resourceId: null, channelExpiration: null, syncToken: null, horizon: null, syncErrors: 0, checkedAt: null };

type StateFields = Pick<SourceData, 'calendarChannelId' | 'calendarResourceId' | 'calendarChannelExpiration' | 'calendarSyncToken' | 'calendarHorizon' | 'calendarCheckedAt' | 'calendars'>;

export function calendarState(source: StateFields, calendarId: string): CalendarState {
  if (calendarId !== PRIMARY_CALENDAR) return source.calendars[calendarId] ?? EMPTY_CALENDAR_STATE;
  return {
    channelId: source.calendarChannelId,
    resourceId: source.calendarResourceId,
    channelExpiration: source.calendarChannelExpiration,
    syncToken: source.calendarSyncToken,
    horizon: source.calendarHorizon,
    syncErrors: 0,
    checkedAt: source.calendarCheckedAt,
  };
}

/** What decides whether the calendar list's channel is kept, and when it is due. */
type ListWatchFields = Pick<SourceData, 'calendarSelection' | 'calendarListChannel'>;

/**
 * The source's fields that store `change` to one calendar's state; none for a calendar the
 * source no longer syncs, so a pass or a channel that outlived the owner's choice cannot bring
 * the calendar back.
 */
export function calendarStateChange(source: Pick<SourceData, 'calendars'> & ListWatchFields, calendarId: string, change: Partial<CalendarState>): Partial<SourceData> {
  if (!syncedCalendars(source).includes(calendarId)) return {};
  if (calendarId !== PRIMARY_CALENDAR) {
    const current = source.calendars[calendarId] ?? EMPTY_CALENDAR_STATE;
    return withOtherCalendars({ ...source.calendars, [calendarId]: { ...current, ...change } }, source);
  }
  const flat: Partial<SourceData> = {};
  if (change.channelId !== undefined) flat.calendarChannelId = change.channelId;
  if (change.resourceId !== undefined) flat.calendarResourceId = change.resourceId;
  if (change.channelExpiration !== undefined) flat.calendarChannelExpiration = change.channelExpiration;
  if (change.syncToken !== undefined) flat.calendarSyncToken = change.syncToken;
  if (change.horizon !== undefined) flat.calendarHorizon = change.horizon;
  if (change.checkedAt !== undefined) flat.calendarCheckedAt = change.checkedAt;
  return flat;
}

/**
 * The fields that store the other calendars' states: the map, and the earliest renewal they
 * need, the calendar list's channel included when `list` keeps one.
 */
export function withOtherCalendars(calendars: Record<string, CalendarState>, list: ListWatchFields): Pick<SourceData, 'calendars' | 'otherCalendarsRenewBy'> {
  const expiries = Object.values(calendars).map((c) => c.channelExpiration?.getTime() ?? 0);
  if (watchesCalendarList(list)) expiries.push(list.calendarListChannel?.expiration.getTime() ?? 0);
  return { calendars, otherCalendarsRenewBy: expiries.length === 0 ? null : new Date(Math.min(...expiries)) };
}

/**
 * The calendars a source syncs, the primary one first when chosen: under `owned`, the primary
 * one and every owned calendar found so far (each has its entry in `calendars`).
 */
export function syncedCalendars(source: Pick<SourceData, 'calendarSelection' | 'calendars'>): string[] {
  const selection = source.calendarSelection;
  if (selection === 'primary') return [PRIMARY_CALENDAR];
  if (selection === 'owned') return [PRIMARY_CALENDAR, ...Object.keys(source.calendars)];
  return [...selection].sort((a, b) => Number(b === PRIMARY_CALENDAR) - Number(a === PRIMARY_CALENDAR));
}

/**
 * A pass listed (or tried to list) `calendarId` at `now`: its check time, and the source's
 * oldest among its synced calendars, which the fallback poll's query reads.
 */
export function calendarChecked(source: SourceData, calendarId: string, now: Date): Partial<SourceData> {
  const stamped = { ...source, ...calendarStateChange(source, calendarId, { checkedAt: now }) };
  const times = syncedCalendars(stamped).map((id) => calendarState(stamped, id).checkedAt?.getTime() ?? 0);
  return { ...calendarStateChange(source, calendarId, { checkedAt: now }), calendarsCheckedBy: new Date(Math.min(...times)) };
}

/**
 * Whether the source keeps a channel on its calendar list: only when the list can change what
 * it syncs (under `owned`, or a choice naming a calendar besides the primary one, which never
 * leaves the list).
 */
export function watchesCalendarList(source: Pick<SourceData, 'calendarSelection'>): boolean {
  const selection = source.calendarSelection;
  return selection === 'owned' || (Array.isArray(selection) && selection.some((id) => id !== PRIMARY_CALENDAR));
}
