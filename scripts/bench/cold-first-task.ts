import { newSource } from '../../functions/src/engine/account/connect';
import { spawnBuiltFunction } from '../lib/built-function';
import type { LocalStack } from '../lib/local-stack';

/**
 * From a cold process to its first task: the built functions package started by the
 * Functions Framework (`functions/lib`, as Cloud Functions starts it), a Gmail push posted as
 * soon as it listens, until the task is in Firestore. Includes loading Firestore, the Gmail
 * client, the OAuth refresh and two Google calls: what the first user of a new instance waits.
 */
export async function coldToFirstTask(stack: LocalStack): Promise<number> {
  const email = 'cold@example.com';
  const { refreshToken } = await stack.admin.createAccount(email);
  await stack.services.sources.create('cold', newSource('cold-user', email, new Date()));
  await stack.services.vault.store('cold', refreshToken);
  const { historyId } = await stack.admin.account(email);
  await stack.services.sources.update('cold', new Date(), () => ({ historyId }));
  const mail = await stack.admin.deliverMail(email, { subject: 'first task of a cold instance' });

  const startedAt = Date.now();
  const { url, child } = await spawnBuiltFunction('gmailPush', { ...process.env, ...stack.functionEnv });
  try {
    const body = JSON.stringify({ message: { data: Buffer.from(JSON.stringify({ emailAddress: email, historyId: mail.historyId })).toString('base64'), messageId: 'cold-1' }, subscription: 'cold' });
    for (;;) {
      const answered = await fetch(`${url}/projects/${stack.projectId}/topics/gmail-watch`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body }).then(
        (r) => r.ok,
        () => false,
      );
      if (answered) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const task = stack.services.db.doc(`users/cold-user/tasks/cold:gmail:${mail.id}`);
    while (!(await task.get()).exists) await new Promise((r) => setTimeout(r, 10));
    return Date.now() - startedAt;
  } finally {
    child.kill('SIGTERM');
  }
}
