import type { Task } from '../../../functions/src/engine/model';
import { sourceData } from '../../support/builders';
import { idTokenFor } from '../../support/connect';
import { MovableClock } from '../../support/clock';
import { registerWatch, runJob, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { waitFor } from '../../support/wait';
import { withPushesLost as withPushesLostIn } from '../../support/burst';

/**
 * The completeness audit on the whole engine: the sandbox as Google, the production adapters,
 * the registered auditCompleteness function. A clean source needs no repair; changes whose
 * pushes were lost (and no poll ran) are all found and repaired through the task upserts.
 */

const HOUR = 3_600_000;
const clock = new MovableClock();
let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack({ overrides: { clock }, env: { AUDIT_PERIOD_HOURS: '1', AUDIT_WINDOW_HOURS: '24', AUDIT_GRACE_SECONDS: '0' } });
});
afterAll(() => stack?.close());

const at = (iso: string) => ({ dateTime: iso });
const email = 'audited@example.com';
const userId = 'user-audit';
const sourceId = 'src-audit';

async function tasks(): Promise<Map<string, Task['status']>> {
  const snap = await stack.db.collection(`users/${userId}/tasks`).get();
  return new Map(snap.docs.map((d) => [d.id, (d.data() as Task).status]));
}

const parsed = () => stack.logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
const auditLines = () => parsed().filter((l) => l.message === 'audit finished' || l.message === 'audit repaired twice in a row');
const handled = () => parsed().filter((l) => l.message === 'audit request handled');

/** One scheduled run, a period after the last one; waits for syncWorker to audit each requested source. */
async function audit(expected = 1) {
  clock.advance(2 * HOUR);
  const before = { lines: auditLines().length, handled: handled().length };
  const summary = await runJob(stack, 'auditCompleteness');
  expect(summary).toMatchObject({ requested: expected });
  await waitFor(() => Promise.resolve(handled().length - before.handled >= expected), 20_000);
  const lines = auditLines().slice(before.lines);
  const repaired = lines.reduce((sum, l) => sum + (typeof l.repaired === 'number' ? l.repaired : 0), 0);
  return { repaired, lines };
}

const withPushesLost = (change: () => Promise<void>) => withPushesLostIn(stack.admin, change);

test('a clean source repairs nothing; lost changes are all found and repaired; two audits in a row with repairs warn', async () => {
  await stack.connect(sourceId, email, userId);
  expect((await registerWatch(stack, sourceId)).status).toBe(200);
  await waitFor(async () => (await stack.services.sources.get(sourceId))!.historyId !== null);
  // Gmail announces at most one change a second; the watch itself just sent one.
  await new Promise((r) => setTimeout(r, 1100));
  const kept = await stack.admin.deliverMail(email, { subject: 'kept' });
  const toArchive = await stack.admin.deliverMail(email, { subject: 'archived while nobody listened' });
  const toMove = await stack.admin.createEvent(email, { summary: 'moved silently', start: at('2026-12-01T10:00:00Z'), end: at('2026-12-01T11:00:00Z') });
  const toCancel = await stack.admin.createEvent(email, { summary: 'cancelled silently', start: at('2026-12-02T10:00:00Z'), end: at('2026-12-02T11:00:00Z') });
  await waitFor(async () => (await tasks()).size === 4);
  await stack.settled(sourceId);
  const synced = await tasks();

  // 1. Nothing was lost: nothing to repair, and nothing changes.
  const clean = await audit();
  expect(clean.repaired).toBe(0);
  expect(clean.lines).toEqual([
    expect.objectContaining({ severity: 'INFO', sourceId, type: 'gmail', checked: 2, missing: 0, wrongState: 0, repaired: 0, units: 5 }),
    expect.objectContaining({ severity: 'INFO', sourceId, type: 'calendar', checked: 2, missing: 0, wrongState: 0, repaired: 0, units: 1 }),
  ]);
  expect(await tasks()).toEqual(synced);

  // 2. Every push is lost and no poll runs: new mail, an archive, a new event, a move, a cancellation.
  let newMail = '';
  let newEvent = '';
  await withPushesLost(async () => {
    newMail = (await stack.admin.deliverMail(email, { subject: 'nobody told us' })).id;
    await stack.admin.archiveMail(email, toArchive.id);
    newEvent = (await stack.admin.createEvent(email, { summary: 'created silently', start: at('2026-12-03T10:00:00Z'), end: at('2026-12-03T11:00:00Z') })).id;
    await stack.admin.updateEvent(email, toMove.id, { start: at('2026-12-04T10:00:00Z'), end: at('2026-12-04T11:00:00Z') });
    await stack.admin.cancelEvent(email, toCancel.id);
  });
  expect((await tasks()).size).toBe(4);

  const repairing = await audit();
  expect(repairing.repaired).toBe(5);
  expect(repairing.lines).toEqual([
    expect.objectContaining({ type: 'gmail', missing: 1, wrongState: 1, repaired: 2 }),
    expect.objectContaining({ type: 'calendar', missing: 1, wrongState: 2, repaired: 3 }),
  ]);
  const repaired = await tasks();
  const id = (origin: string, externalId: string) => `${sourceId}:${origin}:${externalId}`;
  expect(Object.fromEntries(repaired)).toEqual({
    [id('gmail', kept.id)]: 'open',
    [id('gmail', toArchive.id)]: 'archived',
    [id('gmail', newMail)]: 'open',
    [id('calendar', toMove.id)]: 'open',
    [id('calendar', toCancel.id)]: 'cancelled',
    [id('calendar', newEvent)]: 'open',
  });
  const moved = (await stack.db.doc(`users/${userId}/tasks/${id('calendar', toMove.id)}`).get()).data() as { dueAt: { toDate(): Date } };
  expect(moved.dueAt.toDate().toISOString()).toBe('2026-12-04T10:00:00.000Z');

  // 3. Lost again: a second audit in a row that repairs → the alert's warning.
  await withPushesLost(async () => void (await stack.admin.deliverMail(email, { subject: 'lost again' })));
  const again = await audit();
  expect(again.repaired).toBe(1);
  expect(again.lines.at(-1)).toMatchObject({ severity: 'WARNING', message: 'audit repaired twice in a row', sourceId });

  // 4. Idempotent: the next audit finds nothing, and the streak ends.
  const after = await audit();
  expect(after.repaired).toBe(0);
  expect(after.lines.map((l) => l.message)).toEqual(['audit finished', 'audit finished']);
  const source = (await stack.services.sources.get(sourceId))!;
  expect(source.auditRepairStreak).toBe(0);
  expect(source.lastAuditAt).not.toBeNull();

  // Records per run, and the status JSON shows the last audit time.
  const records = await stack.services.audits.listForSource(sourceId);
  expect(records.map((r) => (r.gmail?.repaired ?? 0) + (r.calendar?.repaired ?? 0))).toEqual([0, 1, 5, 0]);
  const bearer = { Authorization: `Bearer ${await idTokenFor(stack, userId)}` };
  const status = (await (await fetch(stack.functionUrl('sourceStatus'), { headers: bearer })).json()) as { sources: { lastAuditAt: string }[] };
  expect(status.sources[0]!.lastAuditAt).toBe(source.lastAuditAt!.toISOString());
});

test('a source audited within the period is skipped, also on a redelivered request; only active sources are audited', async () => {
  await stack.connect('src-revoked', 'revoked@example.com', 'user-revoked');
  await stack.services.sources.update('src-revoked', clock.now(), () => ({ status: 'disconnected', disconnectReason: 'Google access was revoked' }));
  await stack.connect('src-degraded', 'degraded@example.com', 'user-degraded');
  await stack.services.sources.update('src-degraded', clock.now(), () => ({ status: 'degraded' }));
  const summary = await runJob(stack, 'auditCompleteness');
  expect(summary).toMatchObject({ requested: 0 });

  const before = handled().length;
  await stack.services.publisher.publish({ kind: 'audit', sourceId });
  await stack.services.publisher.publish({ kind: 'audit', sourceId: 'src-revoked' });
  await waitFor(() => Promise.resolve(handled().length - before >= 2));
  expect(handled().slice(before).map((l) => [l.sourceId, l.reason]).sort()).toEqual([
    [sourceId, 'recently-audited'],
    ['src-revoked', 'not-active'],
  ]);
  expect((await stack.services.sources.get('src-revoked'))!.lastAuditAt).toBeNull();
});

test('Gmail paging stops at the first message older than the source: a large backlog costs one page and one batch', async () => {
  const backlogEmail = 'backlog@example.com';
  const account = await stack.admin.createAccount(backlogEmail);
  for (let i = 0; i < 150; i += 1) await stack.admin.deliverMail(backlogEmail, { subject: `old ${i}` });
  // The source is connected after the backlog arrived: the backlog is never imported.
  await new Promise((r) => setTimeout(r, 5));
  const now = clock.now();
  await stack.services.sources.create('src-backlog', sourceData({ userId: 'user-backlog', email: backlogEmail, createdAt: now, updatedAt: now }));
  await stack.services.vault.store('src-backlog', account.refreshToken);
  // New mail arrives after the connection, on the engine's (moved) clock.
  await stack.admin.advanceClock(clock.now().getTime() - Date.now() + 1000);
  const fresh = [];
  for (let i = 0; i < 3; i += 1) fresh.push((await stack.admin.deliverMail(backlogEmail, { subject: `new ${i}` })).id);

  const { lines } = await audit(2);
  const gmail = lines.find((l) => l.sourceId === 'src-backlog' && l.type === 'gmail');
  // One messages.list page (5 units) and one metadata batch of 10 (200 units): the 3 new
  // messages and the first backlog message, which ends the listing.
  expect(gmail).toMatchObject({ checked: 3, missing: 3, wrongState: 0, repaired: 3, units: 5 + 10 * 20 });
  const snap = await stack.db.collection('users/user-backlog/tasks').get();
  expect(snap.docs.map((d) => d.id).sort()).toEqual(fresh.map((id) => `src-backlog:gmail:${id}`).sort());
});

test('every calendar the source syncs is audited under its own task ids; a calendar it does not sync is not', async () => {
  const calendarsEmail = 'calendars-audit@example.com';
  const account = await stack.admin.createAccount(calendarsEmail);
  const work = await stack.admin.createCalendar(calendarsEmail, 'Work');
  const now = clock.now();
  await stack.services.sources.create('src-cals', sourceData({ userId: 'user-cals', email: calendarsEmail, createdAt: now, updatedAt: now, calendarSelection: [work.id] }));
  await stack.services.vault.store('src-cals', account.refreshToken);
  // The sandbox's clock may already run ahead (an earlier test moved it): move it to just after the source's connection.
  const google = new Date((await stack.admin.advanceClock(0)).now);
  await stack.admin.advanceClock(clock.now().getTime() + 1000 - google.getTime());
  const tomorrow = new Date(clock.now().getTime() + 24 * HOUR);
  const slot = { start: at(tomorrow.toISOString()), end: at(new Date(tomorrow.getTime() + HOUR).toISOString()) };
  await stack.admin.createEvent(calendarsEmail, { summary: 'on the primary calendar, not synced', ...slot });
  const missed = await stack.admin.createEvent(calendarsEmail, { summary: 'on the work calendar, missed', ...slot, calendarId: work.id });

  const { lines } = await audit(3);
  expect(lines.find((l) => l.sourceId === 'src-cals' && l.type === 'calendar')).toMatchObject({ checked: 1, missing: 1, repaired: 1, units: 1 });
  const snap = await stack.db.collection('users/user-cals/tasks').get();
  expect(snap.docs.map((d) => [d.id, (d.data() as Task).calendarId])).toEqual([[`src-cals:calendar:${encodeURIComponent(work.id)}:${missed.id}`, work.id]]);
});
