import type { Channel, NewChannel } from '../model';

/** What the engine needs from Google Calendar and from the store of Calendar channels. */

export type EventTime = { dateTime?: string | null; date?: string | null };

export interface CalendarEvent {
  id: string;
  status: 'confirmed' | 'tentative' | 'cancelled';
  summary: string | null;
  start: Date | null;
  htmlLink: string | null;
  /** Google's clock: the only one calendar writes are ordered by. */
  updated: Date | null;
  /** The iCalendar sequence; orders changes whose `updated` is equal. */
  sequence: number;
  /** The account's own attendee entry declined the invitation. */
  declinedBySelf: boolean;
  /** Google's `eventType` (`default`, `birthday`, `fromGmail`, …). */
  eventType: string;
  /** Starts on a date, not at a time. */
  allDay: boolean;
  /** The account organizes it, or has accepted it. */
  mine: boolean;
}

export type CalendarListRequest =
  | { syncToken: string; pageToken: string | null; maxResults: number }
  | { timeMin: Date; timeMax?: Date; pageToken: string | null; maxResults: number }
  /** Events modified since then, deleted ones included (the completeness audit). */
  | { updatedMin: Date; pageToken: string | null; maxResults: number };

/** One entry of the account's calendar list, for choosing calendars. */
export interface CalendarListEntry {
  id: string;
  summary: string;
  accessRole: 'owner' | 'writer' | 'reader' | 'freeBusyReader';
  primary: boolean;
}

/** A push channel asked for: our id, where it pushes, its token, its lifetime. */
export interface ChannelRequest {
  id: string;
  address: string;
  token: string;
  ttlSeconds: number;
}

export interface CalendarApi {
  /** `updated` is the calendar's last modification time (Google's clock). */
  listEvents(request: CalendarListRequest): Promise<{ events: CalendarEvent[]; nextPageToken: string | null; nextSyncToken: string | null; updated: Date | null }>;
  /** One event, cancelled ones included; `null` when Google no longer knows it (404/410). */
  getEvent(id: string): Promise<CalendarEvent | null>;
  watch(channel: ChannelRequest): Promise<{ resourceId: string; expiration: Date }>;
  /** A channel on the account's calendar list (`calendarList.watch`), whichever calendar this is bound to. */
  watchCalendarList(channel: ChannelRequest): Promise<{ resourceId: string; expiration: Date }>;
  stopChannel(channelId: string, resourceId: string): Promise<void>;
  /** The account's whole calendar list (every page). */
  listCalendars(): Promise<CalendarListEntry[]>;
}

export interface ChannelStore {
  put(channelId: string, channel: NewChannel): Promise<void>;
  get(channelId: string): Promise<Channel | null>;
  /**
   * Remembers `messageNumber` as seen (in its slot), with no read: concurrent notifications
   * of a burst do not contend on the document.
   */
  recordMessageNumber(channelId: string, messageNumber: number): Promise<void>;
  /** Confirms the channel (its `sync`); false when it was already confirmed. */
  confirm(channelId: string, messageNumber: number, now: Date): Promise<boolean>;
  delete(channelId: string): Promise<void>;
}
