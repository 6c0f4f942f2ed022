import { renewSourceWatches } from '../../../functions/src/engine/account/renewal';
import { connectAndWatch as connectWatched, startEngineStack, type EngineStack } from '../../support/engine-stack';

const HOUR = 3_600_000;
let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack();
});
afterAll(() => stack.close());

async function connectAndWatch(sourceId: string, email: string) {
  const source = await connectWatched(stack, sourceId, email, `user-${sourceId}`);
  // Both due for renewal.
  const soon = new Date(Date.now() + HOUR);
  await stack.services.sources.update(sourceId, new Date(), () => ({ watchExpiration: soon, calendarChannelExpiration: soon }));
  return source;
}

const liveChannelsOf = async (email: string) => (await stack.admin.channels()).channels.filter((c) => c.email === email).map((c) => c.id);

test('renewal: Google answering 404 (Gmail watch) and 410 (Calendar watch) → the watch fields are cleared and both are registered afresh', async () => {
  const email = 'renew-gone@example.com';
  const before = await connectAndWatch('src-renew-gone', email);
  await stack.admin.resetStats();
  await stack.admin.setFaults({
    failNext: [
      { method: 'gmail.users.watch', status: 404, count: 1 },
      { method: 'calendar.events.watch', status: 410, count: 1 },
    ],
  });
  const renewed = await renewSourceWatches(stack.services.watchDeps, 'src-renew-gone', 24 * HOUR);
  await stack.admin.setFaults({});

  expect(renewed).toEqual({ gmail: true, calendar: true });
  const after = (await stack.services.sources.get('src-renew-gone'))!;
  expect(after.watchExpiration!.getTime()).toBeGreaterThan(Date.now() + 6 * 24 * HOUR);
  expect(after.calendarChannelExpiration!.getTime()).toBeGreaterThan(Date.now() + 6 * 24 * HOUR);
  expect(after.calendarChannelId).not.toBe(before.calendarChannelId);
  expect(after.renewalError).toBeNull();
  const { calls, injected } = await stack.admin.stats();
  expect(calls[email]).toMatchObject({ 'gmail.users.watch': 2, 'calendar.events.watch': 2 });
  expect(injected.gone).toBe(2);
  expect(await liveChannelsOf(email)).toEqual([after.calendarChannelId]);
});

test('one watch that cannot be renewed leaves the others renewed, and the failure recorded on the source', async () => {
  const email = 'renew-partial@example.com';
  await connectAndWatch('src-renew-partial', email);
  // More 503s than the limiter's attempts (MAX_ATTEMPTS): the Gmail watch stays unrenewed.
  await stack.admin.setFaults({ failNext: [{ method: 'gmail.users.watch', status: 503, count: stack.services.config.limiter.maxAttempts }] });
  const renewed = await renewSourceWatches(stack.services.watchDeps, 'src-renew-partial', 24 * HOUR);
  await stack.admin.setFaults({});

  expect(renewed).toEqual({ gmail: false, calendar: true });
  const after = (await stack.services.sources.get('src-renew-partial'))!;
  expect(after.calendarChannelExpiration!.getTime()).toBeGreaterThan(Date.now() + 6 * 24 * HOUR);
  expect(after.watchExpiration!.getTime()).toBeLessThan(Date.now() + 2 * HOUR);
  expect(after.renewalError).toEqual(expect.any(String));
});

test('two concurrent renewals leave exactly one live channel: the one replaced is read when the new one is stored', async () => {
  const email = 'renew-race@example.com';
  await connectAndWatch('src-renew-race', email);
  // Slow Google down so that both renewals are inside events.watch at the same time.
  await stack.admin.setFaults({ latencyMs: 150 });
  await Promise.all([
    renewSourceWatches(stack.services.watchDeps, 'src-renew-race', 24 * HOUR),
    renewSourceWatches(stack.services.watchDeps, 'src-renew-race', 24 * HOUR),
  ]);
  await stack.admin.setFaults({});
  const stored = (await stack.services.sources.get('src-renew-race'))!;
  expect(await liveChannelsOf(email)).toEqual([stored.calendarChannelId]);
});
