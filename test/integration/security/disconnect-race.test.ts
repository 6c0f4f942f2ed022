import { sourceIdFor } from '../../../functions/src/engine/account/connect';
import { asUser, walkConnect } from '../../support/connect';
import { runnerWith, startEngineStack, storeWithTransitions, type EngineStack } from '../../support/engine-stack';
import { waitFor } from '../../support/wait';

/**
 * A run that read the source just before its user disconnected it (a Gmail push's mailbox
 * query, say) on a mailbox another user still shares, so the grant stays valid at Google: the
 * instance's decrypted token must not keep it syncing.
 */

let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack();
});
afterAll(() => stack.close());

const titles = async (userId: string) => (await stack.db.collection(`users/${userId}/tasks`).get()).docs.map((d) => d.get('title') as string).sort();

it('a run racing a disconnect of a shared mailbox imports nothing more for the disconnected user', async () => {
  const email = 'shared.race@example.com';
  await stack.admin.createAccount(email);
  await walkConnect(stack, 'user-a', email);
  await walkConnect(stack, 'user-b', email);
  const sourceId = sourceIdFor('user-a', email);
  await new Promise((r) => setTimeout(r, 1100));
  await stack.admin.deliverMail(email, { subject: 'before' });
  await waitFor(async () => (await titles('user-a')).includes('before'));
  await stack.settled(sourceId);
  const readBeforeDisconnect = (await stack.services.sources.get(sourceId))!;

  const response = await asUser(stack, 'user-a', 'disconnect', { method: 'POST', body: { sourceId } });
  expect(await response.json()).toMatchObject({ status: 'disconnected', revoked: false });
  const after = await stack.admin.deliverMail(email, { subject: 'after disconnect' });
  await waitFor(async () => (await titles('user-b')).includes('after disconnect'));

  await stack.services.runner.handle(sourceId, { gmail: after.historyId, calendar: false }, { trigger: 'push', pushAt: new Date(), source: readBeforeDisconnect });
  expect(await titles('user-a')).toEqual(['before']);
  const source = (await stack.services.sources.get(sourceId))!;
  expect(source).toMatchObject({ status: 'disconnected', lease: null });
});

it('a pass Google refuses while the user reconnects leaves the reconnected source active', async () => {
  const email = 'reconnect.race@example.com';
  await stack.admin.createAccount(email);
  await walkConnect(stack, 'user-r', email);
  const sourceId = sourceIdFor('user-r', email);
  await stack.settled(sourceId);
  // The grant this instance holds is revoked at Google; the user reconnects while a pass is
  // being refused, before that pass's step ends.
  await stack.admin.revoke(email);
  const reconnectingAtStepEnd = storeWithTransitions(stack, async (n, run) => {
    if (n === 2) expect((await walkConnect(stack, 'user-r', email)).confirmed?.status).toBe(200);
    return run();
  });
  await runnerWith(stack, reconnectingAtStepEnd, { leaseMs: 60_000, passBudgetMs: 60_000, fetchBatchSize: 5 }).handle(sourceId, { gmail: null, calendar: true }, { trigger: 'push' });
  expect((await stack.services.sources.get(sourceId))!).toMatchObject({ status: 'active', disconnectReason: null });
});
