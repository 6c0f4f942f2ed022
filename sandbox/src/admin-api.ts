import * as z from 'zod';
import { registerAdminCalendar } from './admin-calendar';
import { accountOf, adminRoutes, parse } from './admin-common';
import { registerAdminGmail } from './admin-gmail';
import { faultsSchema } from './faults';
import { lagClearSchema, lagRuleSchema } from './lag';
import type { Router } from './http';
import { UNAUTHENTICATED_ACCOUNT } from './api-call';
import type { Account, World } from './world';

/** The admin API under /_admin: the contract that tests, `npm start` and the benchmark use. */

const schemas = {
  account: z.object({ email: z.email() }),
  clock: z.object({ advanceMs: z.number().int().nonnegative() }),
  reset: z.object({ seed: z.number().int().optional() }),
  quota: z.object({
    gmailUnitsPerMinute: z.number().int().positive().optional(),
    calendarRequestsPerMinute: z.number().int().positive().optional(),
    exceededStatus: z.union([z.literal(403), z.literal(429)]).optional(),
  }),
};

function groundTruth(account: Account) {
  return {
    email: account.email,
    historyId: account.mailbox.historyId.toString(),
    labels: [...account.mailbox.userLabels.values()],
    gmailWatch: account.gmailWatch && { ...account.gmailWatch, expiration: String(account.gmailWatch.expiration) },
    messages: [...account.mailbox.messages.values()].map((m) => ({
      id: m.id,
      threadId: m.threadId,
      subject: m.subject,
      from: m.from,
      labelIds: [...m.labelIds],
      headers: m.headers,
      deleted: m.deleted,
      internalDate: m.internalDate,
    })),
    calendars: [...account.calendarList.entries.values()].filter((e) => !e.deleted).map((e) => ({ id: e.calendarId, accessRole: e.accessRole, primary: e.primary })),
    events: [...account.calendar.events.values()].map((e) => ({
      id: e.id,
      summary: e.summary,
      start: e.start,
      end: e.end,
      status: e.status,
      updated: new Date(e.updated).toISOString(),
      recurrence: e.recurrence,
      attendees: e.attendees,
      eventType: e.eventType,
    })),
  };
}

export function registerAdmin(router: Router, world: World): void {
  const on = adminRoutes(router);
  registerAdminGmail(on, world);
  registerAdminCalendar(on, world);

  on('POST', '/reset', async ({ body }) => {
    const { seed } = parse(schemas.reset, body);
    await world.reset(seed);
    return { status: 204 };
  });

  on('POST', '/accounts', ({ body }) => {
    const { email } = parse(schemas.account, body);
    const { refreshToken } = world.createAccount(email);
    return { status: 201, body: { email, refreshToken, clientId: world.options.clientId, clientSecret: world.options.clientSecret } };
  });

  on('GET', '/accounts/:email', (request) => ({ status: 200, body: groundTruth(accountOf(world, request)) }));

  on('POST', '/accounts/:email/calendar/invalidate-sync-tokens', (request) => {
    accountOf(world, request).calendar.invalidateSyncTokens();
    return { status: 204 };
  });

  on('GET', '/accounts/:email/refresh-tokens', (request) => ({
    status: 200,
    body: { refreshTokens: world.oauth.refreshTokensFor(accountOf(world, request).email) },
  }));

  on('POST', '/accounts/:email/revoke', (request) => {
    world.oauth.revoke(accountOf(world, request).email);
    return { status: 204 };
  });

  on('GET', '/channels', () => ({
    status: 200,
    body: {
      channels: [...world.channels.values()].map((c) => ({
        id: c.id,
        resourceId: c.resourceId,
        address: c.address,
        email: c.ownerEmail,
        expiration: String(c.expiration),
        token: c.token ?? null,
      })),
    },
  }));

  on('POST', '/clock', ({ body }) => {
    const { advanceMs } = parse(schemas.clock, body);
    world.clock.advance(advanceMs);
    return { status: 200, body: { now: new Date(world.clock.now()).toISOString() } };
  });

  on('GET', '/clock', () => ({ status: 200, body: { now: new Date(world.clock.now()).toISOString() } }));

  on('PUT', '/faults', ({ body }) => {
    world.faults.set(parse(faultsSchema, body));
    return { status: 200, body: world.faults.faults };
  });

  // Read-after-push lag, per account (or every account) and per API; faults leave it alone.
  on('PUT', '/lag', ({ body }) => {
    world.lag.set(parse(lagRuleSchema, body));
    return { status: 200, body: { rules: world.lag.list() } };
  });

  on('DELETE', '/lag', ({ body }) => {
    world.lag.clear(parse(lagClearSchema, body));
    return { status: 200, body: { rules: world.lag.list() } };
  });

  on('GET', '/lag', () => ({ status: 200, body: { rules: world.lag.list() } }));

  on('PUT', '/quota', ({ body }) => {
    const { exceededStatus, ...quota } = parse(schemas.quota, body);
    world.setQuota(Object.fromEntries(Object.entries(quota).filter(([, v]) => v !== undefined)), exceededStatus);
    return { status: 204 };
  });

  on('POST', '/pushes/drain', async () => {
    await world.push.drain();
    return { status: 204 };
  });

  on('GET', '/stats', () => ({
    status: 200,
    body: {
      calls: world.usage.snapshot(),
      unauthenticatedAccount: UNAUTHENTICATED_ACCOUNT,
      pushes: world.push.log,
      injected: world.faults.injected,
      lagged: world.lag.delayed,
      tasks: world.tasks.stats,
      pending: { pushes: world.push.pending, tasks: world.tasks.pending },
      batchPartsPeak: world.usage.batchPartsPeak,
      seed: world.random.seed,
    },
  }));

  on('POST', '/stats/reset', () => {
    world.usage.reset();
    return { status: 204 };
  });
}
