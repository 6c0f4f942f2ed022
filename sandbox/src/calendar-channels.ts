import type { ApiContext } from './api-call';
import type { Channel } from './calendar-data';
import { parseEventTypes, resolveCalendar, type CalendarCall } from './calendar-resources';
import { errors, GoogleApiError } from './google-errors';
import type { Router } from './http';
import { CALENDAR_LIST_RESOURCE_URI, eventsResourceUri, WATCH_TTL_MS, type World } from './world';

/** Push channels: events.watch, calendarList.watch and channels.stop. */

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Validates a watch request's body and opens its channel; the first message, `sync`, may beat the reply. */
function openChannel(world: World, context: ApiContext, watches: Channel['watches'], resourceId: string, resourceUri: string) {
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
  if (world.channels.has(id)) throw new GoogleApiError(400, `Channel id ${id} not unique`, { reason: 'channelIdNotUnique' });
  const params = (body.params ?? {}) as Record<string, unknown>;
  const ttlSeconds = params.ttl === undefined ? null : Number(params.ttl);
  const requested = body.expiration === undefined ? null : Number(body.expiration);
  const maxExpiration = context.now + WATCH_TTL_MS;
  const fromTtl = ttlSeconds !== null && Number.isFinite(ttlSeconds) ? context.now + ttlSeconds * 1000 : maxExpiration;
  const channel: Channel = {
    id,
    watches,
    resourceId,
    address: url.toString(),
    token: typeof token === 'string' ? token : undefined,
    expiration: Math.min(requested ?? fromTtl, maxExpiration),
    ownerEmail: context.account.email,
    clientId: context.grant.clientId,
    nextMessageNumber: 1,
    stopped: false,
  };
  world.channels.set(id, channel);
  world.push.notifyCalendar(channel, 'sync', resourceUri);
  const reply: Record<string, unknown> = { kind: 'api#channel', id, resourceId, resourceUri, expiration: String(channel.expiration) };
  if (channel.token !== undefined) reply.token = channel.token;
  return { status: 200, body: reply };
}

export function registerCalendarChannels(router: Router, world: World, call: CalendarCall): void {
  router.on('POST', '/calendar/v3/calendars/:calendarId/events/watch', call('calendar.events.watch', (context) => {
    const { calendar } = resolveCalendar(world, context);
    const eventTypes = parseEventTypes(context.request.query.getAll('eventTypes'));
    return openChannel(world, context, { kind: 'events', calendarId: calendar.id, eventTypes }, calendar.resourceId, eventsResourceUri(calendar.id));
  }));

  router.on('POST', '/calendar/v3/users/me/calendarList/watch', call('calendar.calendarList.watch', (context) =>
    openChannel(world, context, { kind: 'calendarList' }, context.account.calendarList.resourceId, CALENDAR_LIST_RESOURCE_URI),
  ));

  router.on('POST', '/calendar/v3/channels/stop', call('calendar.channels.stop', ({ request, account, grant }) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const channel = typeof body.id === 'string' ? world.channels.get(body.id) : undefined;
    if (!channel || channel.resourceId !== body.resourceId) throw errors.notFound(`Channel '${String(body.id)}' not found for project`);
    if (channel.ownerEmail !== account.email || channel.clientId !== grant.clientId) {
      throw errors.forbidden('Channel is not owned by the caller.', 'forbidden');
    }
    channel.stopped = true;
    world.channels.delete(channel.id);
    return { status: 204 };
  }));
}
