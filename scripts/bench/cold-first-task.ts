import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { newSource } from '../../functions/src/engine/connect';
import type { LocalStack } from '../lib/local-stack';

/** The Functions Framework's CLI (its package exports no path to it). */
const FRAMEWORK_MAIN = join(process.cwd(), 'node_modules/@google-cloud/functions-framework/build/src/main.js');

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
  const port = await freePort();

  const startedAt = Date.now();
  const child = spawn(
    process.execPath,
    [FRAMEWORK_MAIN, '--target=gmailPush', '--signature-type=cloudevent', '--source=functions/lib', `--port=${port}`],
    { env: { ...process.env, ...stack.functionEnv, METADATA_SERVER_DETECTION: 'none' }, stdio: 'ignore' },
  );
  try {
    const body = JSON.stringify({ message: { data: Buffer.from(JSON.stringify({ emailAddress: email, historyId: mail.historyId })).toString('base64'), messageId: 'cold-1' }, subscription: 'cold' });
    for (;;) {
      const answered = await fetch(`http://127.0.0.1:${port}/projects/${stack.projectId}/topics/gmail-watch`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body }).then(
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

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
