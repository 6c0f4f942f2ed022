import type { CreatedAccount } from '../../../sandbox/src/admin-client';
import { failure, officialClients } from '../../support/google-clients';
import { useSandbox } from '../../support/sandbox-fixture';

/**
 * events.list with `updatedMin`, through the official client: what the completeness audit
 * relies on. Google: only entries modified since then; deleted entries are always included,
 * whatever `showDeleted` says; too far back → 410 `updatedMinTooLongAgo`.
 */

const email = 'audit@example.com';
let account: CreatedAccount;
let clients: ReturnType<typeof officialClients>;
const at = (iso: string) => ({ dateTime: iso });
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const running = useSandbox();
beforeEach(async () => {
  await running.admin.reset();
  account = await running.admin.createAccount(email);
  clients = officialClients(running.sandbox.url, account);
});

/** The sandbox's clock, as Calendar reports it on every listing. */
async function sandboxNow(): Promise<number> {
  const { data } = await clients.calendar.events.list({ calendarId: 'primary', maxResults: 1 });
  return Date.parse(data.updated!);
}

async function listUpdatedSince(updatedMin: string, maxResults: number) {
  const items = [];
  let pageToken: string | undefined;
  for (;;) {
    const { data } = await clients.calendar.events.list({ calendarId: 'primary', singleEvents: true, updatedMin, maxResults, ...(pageToken && { pageToken }) });
    items.push(...(data.items ?? []));
    if (!data.nextPageToken) return items;
    pageToken = data.nextPageToken;
  }
}

test('returns only events modified since updatedMin, deleted ones included without showDeleted, across pages', async () => {
  const untouched = await running.admin.createEvent(email, { summary: 'untouched', start: at('2026-12-01T10:00:00Z'), end: at('2026-12-01T11:00:00Z') });
  const moved = await running.admin.createEvent(email, { summary: 'moved', start: at('2026-12-02T10:00:00Z'), end: at('2026-12-02T11:00:00Z') });
  const cancelled = await running.admin.createEvent(email, { summary: 'cancelled', start: at('2026-12-03T10:00:00Z'), end: at('2026-12-03T11:00:00Z') });
  const cancelledEarlier = await running.admin.createEvent(email, { summary: 'cancelled earlier', start: at('2026-12-04T10:00:00Z'), end: at('2026-12-04T11:00:00Z') });
  await running.admin.cancelEvent(email, cancelledEarlier.id);
  await running.admin.advanceClock(2 * HOUR);
  const since = new Date((await sandboxNow()) - HOUR).toISOString();

  await running.admin.updateEvent(email, moved.id, { start: at('2026-12-05T10:00:00Z'), end: at('2026-12-05T11:00:00Z') });
  await running.admin.cancelEvent(email, cancelled.id);
  const created = await running.admin.createEvent(email, { summary: 'new', start: at('2026-12-06T10:00:00Z'), end: at('2026-12-06T11:00:00Z') });

  const items = await listUpdatedSince(since, 1);
  expect(items.map((e) => [e.id, e.status]).sort()).toEqual(
    [
      [moved.id, 'confirmed'],
      [cancelled.id, 'cancelled'],
      [created.id, 'confirmed'],
    ].sort(),
  );
  expect(items.every((e) => Date.parse(e.updated!) >= Date.parse(since))).toBe(true);
  expect(items.map((e) => e.id)).not.toContain(untouched.id);
  expect(items.map((e) => e.id)).not.toContain(cancelledEarlier.id);
});

test('answers 410 updatedMinTooLongAgo when updatedMin reaches too far back, and 400 with a sync token', async () => {
  const now = await sandboxNow();
  const recent = await clients.calendar.events.list({ calendarId: 'primary', updatedMin: new Date(now - 19 * DAY).toISOString() });
  expect(recent.status).toBe(200);

  const old = await failure(clients.calendar.events.list({ calendarId: 'primary', updatedMin: new Date(now - 21 * DAY).toISOString() }));
  expect(old).toMatchObject({ status: 410, reason: 'updatedMinTooLongAgo' });

  const { data } = await clients.calendar.events.list({ calendarId: 'primary' });
  const mixed = await failure(clients.calendar.events.list({ calendarId: 'primary', syncToken: data.nextSyncToken!, updatedMin: new Date(now - HOUR).toISOString() }));
  expect(mixed.status).toBe(400);
});
