import { sourceIdFor } from '../../../functions/src/engine/account/connect';
import { asUser, walkConnect } from '../../support/connect';
import { loggedPasses, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { waitFor } from '../../support/wait';

/**
 * Issue 17, item 3: after a disconnect (or a revoke), reconnecting resumes both cursors and
 * catches up on Gmail AND Calendar at once: no wait for the fallback poll, and no `degraded`
 * for changes that no push could have announced.
 */

let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack();
});
afterAll(() => stack.close());

const at = (iso: string) => ({ dateTime: iso });
const tasks = async (userId: string) =>
  (await stack.db.collection(`users/${userId}/tasks`).get()).docs.map((d) => (d.data() as { title: string; origin: string }));
const titles = async (userId: string, origin: string) => (await tasks(userId)).filter((t) => t.origin === origin).map((t) => t.title).sort();

describe('reconnect', () => {
  it.each(['disconnect', 'revoke'] as const)('after a %s, both cursors resume and both catch up at once', async (how) => {
    const email = `back.${how}@example.com`;
    const userId = `user-back-${how}`;
    const sourceId = sourceIdFor(userId, email);
    await stack.admin.createAccount(email);
    await walkConnect(stack, userId, email);
    await new Promise((r) => setTimeout(r, 1100));
    await stack.admin.deliverMail(email, { subject: 'before' });
    const event = await stack.admin.createEvent(email, { summary: 'Standup', start: at('2026-12-01T09:00:00Z'), end: at('2026-12-01T09:15:00Z') });
    await waitFor(async () => (await titles(userId, 'gmail')).length === 1 && (await titles(userId, 'calendar')).length === 1);
    await stack.settled(sourceId);
    const before = (await stack.services.sources.get(sourceId))!;
    expect(before.calendarSyncToken).not.toBeNull();

    if (how === 'disconnect') {
      expect((await asUser(stack, userId, 'disconnect', { method: 'POST', body: { sourceId } })).status).toBe(200);
    } else {
      await stack.admin.revoke(email);
      await stack.services.runner.handle(sourceId, { gmail: null, calendar: true }, { trigger: 'poll' });
      expect((await stack.services.sources.get(sourceId))!.status).toBe('disconnected');
    }
    // While away: mail arrives, an event is renamed and another created.
    await stack.admin.deliverMail(email, { subject: 'while away' });
    await stack.admin.updateEvent(email, event.id, { summary: 'Standup (moved)' });
    await stack.admin.createEvent(email, { summary: 'Retro', start: at('2026-12-02T09:00:00Z'), end: at('2026-12-02T10:00:00Z') });

    const reconnectedAt = new Date();
    const logMark = stack.logLines.length;
    const back = await walkConnect(stack, userId, email);
    expect(back.confirmed?.status).toBe(200);
    // No job runs here: only the reconnect's own catch-up can bring these in.
    await waitFor(async () => (await titles(userId, 'calendar')).join() === 'Retro,Standup (moved)' && (await titles(userId, 'gmail')).join() === 'before,while away', 15_000);
    await stack.settled(sourceId);
    const after = (await stack.services.sources.get(sourceId))!;
    expect(after).toMatchObject({ status: 'active', missedPushAt: null });
    // The cursors resumed: no full resync of either.
    const since = { logLines: stack.logLines.slice(logMark) };
    const passes = [...loggedPasses(since, sourceId, 'gmail'), ...loggedPasses(since, sourceId, 'calendar')];
    expect(loggedPasses(since, sourceId, 'calendar').some((p) => (p.counts.tasksWritten ?? 0) > 0)).toBe(true);
    expect(passes.filter((p) => p.trigger === 'resync')).toEqual([]);
    const recorded = (await stack.db.collection('ingestion_events').where('sourceId', '==', sourceId).where('createdAt', '>=', reconnectedAt).get()).docs;
    expect(recorded.filter((d) => d.get('trigger') === 'resync')).toEqual([]);
  });
});
