import { FieldValue } from '@google-cloud/firestore';
import { connectAndWatch, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { waitFor } from '../../support/wait';

/**
 * A source and its tasks as the version before calendars could be chosen wrote them (the
 * primary calendar's state in the flat `calendar*` fields, no `calendars` map, tasks without
 * a calendar) keep working under this version: nothing duplicated, lost or orphaned.
 */

let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack();
});
afterAll(() => stack.close());

const at = (iso: string) => ({ dateTime: iso });
type StoredTask = { id: string; externalId: string; title: string; status: string; calendarId?: string };
const calendarTasks = async (userId: string): Promise<StoredTask[]> =>
  (await stack.db.collection(`users/${userId}/tasks`).where('origin', '==', 'calendar').get()).docs.map((d) => ({ id: d.id, ...(d.data() as Omit<StoredTask, 'id'>) }));

/** Rewrites what this version stored into the previous version's shape. */
async function asWrittenByThePreviousVersion(sourceId: string, userId: string): Promise<void> {
  await stack.db.doc(`sources/${sourceId}`).update({ calendars: FieldValue.delete() });
  for (const task of await calendarTasks(userId)) await stack.db.doc(`users/${userId}/tasks/${task.id}`).update({ calendarId: FieldValue.delete() });
  const raw = (await stack.db.doc(`sources/${sourceId}`).get()).data()!;
  expect(raw).not.toHaveProperty('calendars');
  expect(raw.calendarSyncToken).toEqual(expect.any(String));
}

describe('upgrade from the single-calendar schema', () => {
  it('pushes, then a 410 with its full sync and sweep, keep every task under its old id, none duplicated or orphaned', async () => {
    const email = 'upgrade@example.com';
    const userId = 'user-upgrade';
    await connectAndWatch(stack, 'src-upgrade', email, userId);
    const soon = new Date(Date.now() + 86_400_000).toISOString();
    const later = new Date(Date.now() + 2 * 86_400_000).toISOString();
    const events: { id: string }[] = [];
    for (let i = 0; i < 3; i += 1) events.push(await stack.admin.createEvent(email, { summary: `e${i}`, start: at(soon), end: at(later) }));
    await waitFor(async () => (await calendarTasks(userId)).length === 3);
    await stack.settled('src-upgrade');
    await asWrittenByThePreviousVersion('src-upgrade', userId);

    // A push on the channel the old version opened, synced with the token it stored.
    await stack.admin.updateEvent(email, events[0]!.id, { summary: 'e0 renamed' });
    await waitFor(async () => (await calendarTasks(userId)).some((t) => t.title === 'e0 renamed'));
    await stack.settled('src-upgrade');

    // The stored token dies while an event is cancelled: the full sync and its sweep.
    await stack.admin.setFaults({ push: { dropRate: 1 } });
    await stack.admin.cancelEvent(email, events[1]!.id);
    await stack.admin.invalidateSyncTokens(email);
    await stack.admin.setFaults({});
    const added = await stack.admin.createEvent(email, { summary: 'after the upgrade', start: at(soon), end: at(later) });
    await waitFor(async () => (await calendarTasks(userId)).length === 4);
    await stack.settled('src-upgrade');
    await waitFor(async () => (await calendarTasks(userId)).find((t) => t.externalId === events[1]!.id)?.status === 'cancelled');

    const tasks = await calendarTasks(userId);
    expect(tasks.map((t) => t.id).sort()).toEqual([...events, added].map((e) => `src-upgrade:calendar:${e.id}`).sort());
    const byEvent = Object.fromEntries(tasks.map((t) => [t.externalId, t]));
    expect(byEvent[events[0]!.id]).toMatchObject({ title: 'e0 renamed', status: 'open' });
    expect(byEvent[events[1]!.id]!.status).toBe('cancelled');
    expect(byEvent[events[2]!.id]).toMatchObject({ title: 'e2', status: 'open' });
    expect(byEvent[added.id]).toMatchObject({ status: 'open', calendarId: 'primary' });
    const source = (await stack.services.sources.get('src-upgrade'))!;
    expect(source.calendars).toEqual({});
    expect(source.calendarSyncToken).not.toBeNull();
    expect(source.status).toBe('active');
  });
});
