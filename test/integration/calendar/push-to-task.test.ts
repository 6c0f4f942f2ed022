import { connectAndWatch, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { createPullSubscription, pullAll } from '../../support/pubsub';
import { waitFor } from '../../support/wait';

let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack();
});
afterAll(() => stack.close());

const at = (iso: string) => ({ dateTime: iso });
const calendarTasks = async (userId: string) =>
  (await stack.db.collection(`users/${userId}/tasks`).where('origin', '==', 'calendar').get()).docs.map((d) => ({ id: d.id, ...(d.data() as { title: string; status: string; dueAt: { toDate(): Date } | null }) }));


describe('Calendar push to task, end to end', () => {
  it('creates, moves and cancels: sandbox → channel push → calendarPush → Pub/Sub → syncWorker → task', async () => {
    const email = 'cal@example.com';
    const source = await connectAndWatch(stack, 'src-cal', email, 'user-cal');
    expect(source.status).toBe('active');
    expect(source.calendarChannelExpiration!.getTime()).toBeGreaterThan(Date.now() + 6 * 86_400_000);

    const event = await stack.admin.createEvent(email, { summary: 'Design review', start: at('2026-12-01T10:00:00Z'), end: at('2026-12-01T11:00:00Z') });
    const created = await waitFor(async () => (await calendarTasks('user-cal')).find((t) => t.id === `src-cal:calendar:${event.id}`));
    expect(created).toMatchObject({ title: 'Design review', status: 'open' });
    expect(created.dueAt!.toDate().toISOString()).toBe('2026-12-01T10:00:00.000Z');

    await stack.admin.updateEvent(email, event.id, { summary: 'Design review (moved)', start: at('2026-12-02T15:00:00Z'), end: at('2026-12-02T16:00:00Z') });
    await waitFor(async () => (await calendarTasks('user-cal'))[0]?.title === 'Design review (moved)');
    expect((await calendarTasks('user-cal'))[0]!.dueAt!.toDate().toISOString()).toBe('2026-12-02T15:00:00.000Z');

    await stack.admin.cancelEvent(email, event.id);
    await waitFor(async () => (await calendarTasks('user-cal'))[0]?.status === 'cancelled');
    await stack.settled('src-cal');
    expect(await calendarTasks('user-cal')).toHaveLength(1);
    expect((await stack.services.sources.get('src-cal'))!.calendarSyncToken).not.toBeNull();
  });

  it('refuses forged pushes with a 4xx and changes nothing', async () => {
    const email = 'forged@example.com';
    const source = await connectAndWatch(stack, 'src-forged', email, 'user-forged');
    // Let the watch's own first Gmail notification land before taking the snapshot.
    await waitFor(async () => (await stack.services.sources.get('src-forged'))!.lastPushAt !== null);
    await stack.settled('src-forged');
    const probe = await createPullSubscription(`projects/${stack.projectId}/topics/sync-requests`);
    const snapshot = async () => ({
      source: (await stack.db.doc('sources/src-forged').get()).data(),
      channel: (await stack.db.doc(`channels/${source.calendarChannelId}`).get()).data(),
      tasks: (await stack.db.collection('users/user-forged/tasks').get()).size,
    });
    const before = await snapshot();
    const headers = {
      'X-Goog-Channel-ID': source.calendarChannelId!,
      'X-Goog-Resource-ID': source.calendarResourceId!,
      'X-Goog-Resource-State': 'exists',
      'X-Goog-Message-Number': '7',
      'X-Goog-Channel-Token': 'not-the-token',
    };
    const send = (h: Record<string, string>) => fetch(stack.functionUrl('calendarPush'), { method: 'POST', headers: h });
    const { ['X-Goog-Channel-ID']: _id, ...withoutChannel } = headers;
    const { ['X-Goog-Channel-Token']: _token, ...withoutToken } = headers;
    const statuses = [
      (await send({ ...headers, 'X-Goog-Channel-ID': 'unknown-channel' })).status,
      (await send(headers)).status,
      (await send(withoutToken)).status,
      (await send({ ...headers, 'X-Goog-Resource-ID': 'someone-elses-resource' })).status,
      (await send(withoutChannel)).status,
      (await send({ ...headers, 'X-Goog-Resource-State': 'bogus' })).status,
    ];
    expect(statuses).toEqual([404, 403, 403, 403, 400, 400]);
    expect(statuses.every((s) => s >= 400 && s < 500)).toBe(true);
    expect(await snapshot()).toEqual(before);
    await new Promise((r) => setTimeout(r, 300));
    expect(await pullAll(probe)).toEqual([]);
  });

  it('a sync token invalidated while events were deleted → 410 → full sync → their tasks cancelled, none lost or duplicated', async () => {
    const email = 'gone@example.com';
    await connectAndWatch(stack, 'src-gone', email, 'user-gone');
    const soon = new Date(Date.now() + 86_400_000).toISOString();
    const later = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const events = [];
    for (let i = 0; i < 4; i += 1) events.push(await stack.admin.createEvent(email, { summary: `e${i}`, start: at(soon), end: at(later) }));
    await waitFor(async () => (await calendarTasks('user-gone')).length === 4);
    await stack.settled('src-gone');

    // While the engine is not listening: two deletions, one new event, and the token dies.
    await stack.admin.setFaults({ push: { dropRate: 1 } });
    await stack.admin.cancelEvent(email, events[0]!.id);
    await stack.admin.cancelEvent(email, events[1]!.id);
    const added = await stack.admin.createEvent(email, { summary: 'added in the gap', start: at(soon), end: at(later) });
    await stack.admin.invalidateSyncTokens(email);
    await stack.admin.setFaults({});
    await stack.admin.resetStats();

    await stack.admin.updateEvent(email, events[2]!.id, { summary: 'e2 renamed' });
    await waitFor(async () => (await calendarTasks('user-gone')).length === 5);
    await stack.settled('src-gone');
    const tasks = await calendarTasks('user-gone');
    const byId = Object.fromEntries(tasks.map((t): [string, (typeof tasks)[number]] => [t.id.split(':')[2]!, t]));
    expect(byId[events[0]!.id]!.status).toBe('cancelled');
    expect(byId[events[1]!.id]!.status).toBe('cancelled');
    expect(byId[events[2]!.id]).toMatchObject({ status: 'open', title: 'e2 renamed' });
    expect(byId[events[3]!.id]!.status).toBe('open');
    expect(byId[added.id]).toMatchObject({ status: 'open', title: 'added in the gap' });
    const recorded = await stack.services.events.listForSource('src-gone', new Date());
    expect(recorded.some((e) => e.type === 'calendar' && e.trigger === 'resync' && (e.counts.tokenInvalidated ?? 0) === 1)).toBe(true);
  });

  it('a burst of 20 pushes for one calendar costs at most 3 events.list runs', async () => {
    const email = 'burst-cal@example.com';
    await connectAndWatch(stack, 'src-cal-burst', email, 'user-cal-burst');
    const first = await stack.admin.createEvent(email, { summary: 'warm-up', start: at('2026-12-05T10:00:00Z'), end: at('2026-12-05T11:00:00Z') });
    await waitFor(async () => (await calendarTasks('user-cal-burst')).some((t) => t.id.endsWith(first.id)));
    await stack.settled('src-cal-burst');
    await stack.admin.resetStats();

    await Promise.all(
      Array.from({ length: 20 }, (_, i) => stack.admin.createEvent(email, { summary: `b${i}`, start: at('2026-12-06T10:00:00Z'), end: at('2026-12-06T11:00:00Z') })),
    );
    await waitFor(async () => (await calendarTasks('user-cal-burst')).length === 21, 20_000);
    await stack.admin.drainPushes();
    await stack.settled('src-cal-burst');
    const calls = (await stack.admin.stats()).calls[email] ?? {};
    expect(calls['calendar.events.list']).toBeLessThanOrEqual(3);
  });
});
