import { PRIMARY_CALENDAR, type CalendarState, type Source, type SourceData } from '../model';

/**
 * Each synced calendar's state, by calendar id. The primary calendar's lives in the source's
 * flat `calendar*` fields, where every earlier version wrote it, so a source written before
 * calendars could be chosen reads as the primary calendar's state with nothing migrated; the
 * others' live in `calendars`. Only these functions know where a calendar's state is stored.
 */

export const EMPTY_CALENDAR_STATE: CalendarState = { channelId: null, resourceId: null, channelExpiration: null, syncToken: null, horizon: null };

export function calendarState(source: Pick<SourceData, 'calendarChannelId' | 'calendarResourceId' | 'calendarChannelExpiration' | 'calendarSyncToken' | 'calendarHorizon' | 'calendars'>, calendarId: string): CalendarState {
  if (calendarId !== PRIMARY_CALENDAR) return source.calendars[calendarId] ?? EMPTY_CALENDAR_STATE;
  return {
    channelId: source.calendarChannelId,
    resourceId: source.calendarResourceId,
    channelExpiration: source.calendarChannelExpiration,
    syncToken: source.calendarSyncToken,
    horizon: source.calendarHorizon,
  };
}

/** The source's fields that store `change` to one calendar's state. */
export function calendarStateChange(source: Pick<SourceData, 'calendars'>, calendarId: string, change: Partial<CalendarState>): Partial<SourceData> {
  if (calendarId !== PRIMARY_CALENDAR) {
    const current = source.calendars[calendarId] ?? EMPTY_CALENDAR_STATE;
    return { calendars: { ...source.calendars, [calendarId]: { ...current, ...change } } };
  }
  const flat: Partial<SourceData> = {};
  if (change.channelId !== undefined) flat.calendarChannelId = change.channelId;
  if (change.resourceId !== undefined) flat.calendarResourceId = change.resourceId;
  if (change.channelExpiration !== undefined) flat.calendarChannelExpiration = change.channelExpiration;
  if (change.syncToken !== undefined) flat.calendarSyncToken = change.syncToken;
  if (change.horizon !== undefined) flat.calendarHorizon = change.horizon;
  return flat;
}

/** The calendars a source syncs. */
export function syncedCalendars(source: Pick<Source, 'calendars'>): string[] {
  return [PRIMARY_CALENDAR, ...Object.keys(source.calendars)];
}
