import * as z from 'zod';
import { AdminError, accountOf, parse, type AdminOn } from './admin-common';
import type { CalendarData, EventTime, StoredEvent } from './calendar-data';
import { EVENT_TYPES } from './calendar-items';
import type { Request } from './http';
import type { World } from './world';

/**
 * Admin routes that change calendars: events (on the account's primary calendar, or with
 * `?calendarId=` on another it owns or may write), secondary calendars, and who may see them.
 */

const eventTime: z.ZodType<EventTime> = z.union([
  z.object({ dateTime: z.iso.datetime({ offset: true }), timeZone: z.string().optional() }).transform((t) =>
    t.timeZone === undefined ? { dateTime: t.dateTime } : { dateTime: t.dateTime, timeZone: t.timeZone },
  ),
  z.object({ date: z.iso.date() }),
]);
const responseStatus = z.enum(['needsAction', 'declined', 'tentative', 'accepted']);
const reminder = z.object({ method: z.enum(['email', 'popup']), minutes: z.number().int().min(0).max(40_320) });

const schemas = {
  event: z.object({
    summary: z.string().default('(no title)'),
    start: eventTime,
    end: eventTime,
    description: z.string().optional(),
    recurrence: z.array(z.string().min(1)).optional(),
    attendees: z.array(z.object({ email: z.email(), responseStatus: responseStatus.default('needsAction') })).optional(),
    eventType: z.enum(EVENT_TYPES).default('default'),
    reminders: z.union([
      z.object({ useDefault: z.literal(true) }),
      z.object({ useDefault: z.literal(false), overrides: z.array(reminder).max(5) }),
    ]).default({ useDefault: true }),
  }),
  response: z.object({ email: z.email().optional(), responseStatus }),
  eventPatch: z.object({ summary: z.string().optional(), start: eventTime.optional(), end: eventTime.optional() }),
  calendar: z.object({ summary: z.string().min(1) }),
  share: z.object({ role: z.enum(['owner', 'writer', 'reader', 'freeBusyReader']) }),
};

/** The calendar an event route acts on: `?calendarId=`, or the account's primary calendar. */
function calendarOf(world: World, request: Request): CalendarData {
  const account = accountOf(world, request);
  const found = world.calendarFor(account, request.query.get('calendarId') ?? 'primary');
  if (!found || (found.entry.accessRole !== 'owner' && found.entry.accessRole !== 'writer')) {
    throw new AdminError(404, `no calendar ${request.query.get('calendarId') ?? ''} that ${account.email} may write`);
  }
  return found.calendar;
}

function changed(world: World, calendar: CalendarData, event: StoredEvent, status = 200) {
  world.calendarChanged(calendar, event);
  return { status, body: { id: event.id, updated: new Date(event.updated).toISOString() } };
}

function sharedCalendar(world: World, request: Request): CalendarData {
  const calendar = world.calendars.get(request.params.calendarId ?? '');
  if (!calendar) throw new AdminError(404, `no calendar ${request.params.calendarId ?? ''}`);
  return calendar;
}

function registerEvents(on: AdminOn, world: World): void {
  on('POST', '/accounts/:email/events', (request) => {
    const calendar = calendarOf(world, request);
    const { description, recurrence, attendees, ...input } = parse(schemas.event, request.body);
    try {
      const event = calendar.create({ ...input, ...(description !== undefined && { description }), ...(recurrence && { recurrence }), ...(attendees && { attendees }) }, world.clock.now());
      return changed(world, calendar, event, 201);
    } catch (error) {
      throw new AdminError(400, error instanceof Error ? error.message : String(error));
    }
  });

  on('PATCH', '/accounts/:email/events/:id', (request) => {
    const calendar = calendarOf(world, request);
    const input = parse(schemas.eventPatch, request.body);
    const patch = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
    return changed(world, calendar, calendar.update(request.params.id ?? '', patch, world.clock.now()));
  });

  on('DELETE', '/accounts/:email/events/:id', (request) => {
    const calendar = calendarOf(world, request);
    changed(world, calendar, calendar.cancel(request.params.id ?? '', world.clock.now()));
    return { status: 204 };
  });

  // Undo of a delete, as Calendar's "Undo" does it.
  on('POST', '/accounts/:email/events/:id/restore', (request) => {
    const calendar = calendarOf(world, request);
    return changed(world, calendar, calendar.restore(request.params.id ?? '', world.clock.now()));
  });

  on('POST', '/accounts/:email/events/:id/response', (request) => {
    const calendar = calendarOf(world, request);
    const { email, responseStatus } = parse(schemas.response, request.body);
    return changed(world, calendar, calendar.respond(request.params.id ?? '', email ?? calendar.ownerEmail, responseStatus, world.clock.now()));
  });

  on('POST', '/accounts/:email/calendar/invalidate-sync-tokens', (request) => {
    calendarOf(world, request).invalidateSyncTokens();
    return { status: 204 };
  });
}

function registerCalendars(on: AdminOn, world: World): void {
  on('POST', '/accounts/:email/calendars', (request) => {
    const { summary } = parse(schemas.calendar, request.body);
    const calendar = world.createCalendar(accountOf(world, request), summary);
    return { status: 201, body: { id: calendar.id, summary: calendar.summary } };
  });

  on('PATCH', '/calendars/:calendarId', (request) => {
    const calendar = sharedCalendar(world, request);
    calendar.summary = parse(schemas.calendar, request.body).summary;
    world.calendarRenamed(calendar);
    return { status: 200, body: { id: calendar.id, summary: calendar.summary } };
  });

  on('PUT', '/calendars/:calendarId/acl/:email', (request) => {
    const calendar = sharedCalendar(world, request);
    const { role } = parse(schemas.share, request.body);
    try {
      world.shareCalendar(calendar, accountOf(world, request), role);
    } catch (error) {
      throw new AdminError(400, error instanceof Error ? error.message : String(error));
    }
    return { status: 200, body: { id: calendar.id, email: request.params.email, role } };
  });

  on('DELETE', '/calendars/:calendarId/acl/:email', (request) => {
    const calendar = sharedCalendar(world, request);
    const account = accountOf(world, request);
    if (account.email === calendar.ownerEmail) throw new AdminError(400, `the owner of ${calendar.id} keeps the owner role`);
    world.unshareCalendar(calendar, account);
    return { status: 204 };
  });
}

export function registerAdminCalendar(on: AdminOn, world: World): void {
  registerEvents(on, world);
  registerCalendars(on, world);
}
