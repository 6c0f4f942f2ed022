import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import { sourceIdFor } from '../functions/src/engine/account/connect';
import { parseChangeEvent, TASK_CHANGED } from '../client/src/events';
import { connectThroughFlow, firebaseIdToken } from './lib/connect-client';
import { startLocalStack } from './lib/local-stack';

/**
 * The change stream's figures on the local stack: the latency from a task's commit in
 * Firestore to its event reaching a local push subscriber (Pub/Sub emulator push), next to
 * the task freshness (mail delivered → task committed), and the messages per task change.
 * `npx tsx scripts/stream-latency.ts [--mails N]` (default 40, one a second and a bit: Gmail
 * notifies a mailbox at most once a second).
 */

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const mails = Number(process.argv[process.argv.indexOf('--mails') + 1] ?? 40) || 40;
  mkdirSync('.local', { recursive: true });
  const stack = await startLocalStack({ projectId: 'demo-stream-latency', scheduler: false, logFile: '.local/stream-latency.log' });
  const arrivals = new Map<string, number>();
  let messages = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      messages += 1;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { message: { data: string } };
      const event = parseChangeEvent(body.message.data);
      if (event.type === TASK_CHANGED && !arrivals.has(event.id)) arrivals.set(event.id, at);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  try {
    const { projectId } = stack;
    await fetch(`http://${stack.emulators.pubsubHost}/v1/projects/${projectId}/subscriptions/task-changes-latency`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ topic: `projects/${projectId}/topics/task-changes`, ackDeadlineSeconds: 10, pushConfig: { pushEndpoint: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/` } }),
    });
    const email = 'latency@example.com';
    const userId = 'latency-user';
    await stack.admin.createAccount(email);
    const walk = await connectThroughFlow(stack.host.functionUrl('connect'), await firebaseIdToken(stack.sandbox.url, projectId, userId), email);
    if (walk.confirmed?.status !== 200) throw new Error('connecting failed');
    const sourceId = sourceIdFor(userId, email);
    const added: number[] = [];
    const fresh: number[] = [];
    for (let i = 0; i < mails; i += 1) {
      await sleep(1100);
      const sentAt = Date.now();
      const sent = await stack.admin.deliverMail(email, { subject: `latency ${i}` });
      const taskId = `${sourceId}:gmail:${sent.id}`;
      const eventId = `users/${userId}/tasks/${taskId}@1`;
      const deadline = Date.now() + 20_000;
      while (!arrivals.has(eventId) && Date.now() < deadline) await sleep(5);
      const snap = await stack.services.db.doc(`users/${userId}/tasks/${taskId}`).get();
      if (!arrivals.has(eventId) || !snap.updateTime) throw new Error(`no event for mail ${i}`);
      added.push(arrivals.get(eventId)! - snap.updateTime.toMillis());
      fresh.push(snap.updateTime.toMillis() - sentAt);
    }
    const row = (name: string, v: number[]) => `${name}: p50 ${percentile(v, 50)} ms, p99 ${percentile(v, 99)} ms`;
    console.log(`${mails} mails → ${mails} tasks, ${messages} change-stream messages pushed (status events included)`);
    console.log(row('task freshness (mail delivered → task committed)', fresh));
    console.log(row('added latency (task committed → event at the push subscriber)', added));
  } finally {
    receiver.close();
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
