import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as z from 'zod';
import { parseChangeEvent, VersionGate, type ChangeEvent } from '../../client/src/events';
import { PushRefused, verifyPush } from '../../client/src/verify-push';
import { signIdToken } from '../../sandbox/src/identity-keys';

/**
 * The local stand-in for a host app's push endpoint: it verifies each delivery's OIDC token
 * with the client package's `verifyPush` (the sandbox publishes the keys, as Google does),
 * prints every event, and answers 401 to a missing, expired, forged or wrongly addressed
 * token and 400 to a body that is no change event, changing nothing.
 */
export interface EventReceiver {
  url: string;
  /** Events accepted, duplicates and stale deliveries included (`applied` says which counted). */
  received: { event: ChangeEvent; applied: boolean }[];
  refused: string[];
  close(): Promise<void>;
}

const pushBody = z.object({ message: z.object({ data: z.string(), messageId: z.string().optional() }), subscription: z.string().optional() });
export const LOCAL_PUSHER = 'task-changes-pusher@local.iam.gserviceaccount.com';

export async function startEventReceiver(options: { certsUrl: string; print?: (line: string) => void }): Promise<EventReceiver> {
  const gate = new VersionGate();
  const received: EventReceiver['received'] = [];
  const refused: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (status: number, reason?: string) => {
        if (reason) refused.push(reason);
        res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(reason ? { error: reason } : {}));
      };
      verifyPush(req.headers.authorization, { audience: receiver.url, serviceAccountEmail: LOCAL_PUSHER, jwksUrl: options.certsUrl })
        .then(() => {
          const event = parseChangeEvent(pushBody.parse(JSON.parse(Buffer.concat(chunks).toString('utf8'))).message.data);
          const applied = gate.accept(event);
          received.push({ event, applied });
          options.print?.(`  ⇢ ${event.type} ${event.subject} v${event.data.version} ${event.data.status}${applied ? '' : ' (duplicate, dropped)'}`);
          answer(204);
        })
        .catch((error: unknown) => answer(error instanceof PushRefused ? 401 : 400, error instanceof PushRefused ? error.reason : 'not a change event'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const receiver: EventReceiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/task-changes`,
    received,
    refused,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return receiver;
}

/**
 * Pub/Sub push with OIDC, as the emulator does not do it: pulls the local subscription and
 * posts each message to the receiver with a token the sandbox signs for it, acknowledging
 * only what the receiver accepted (2xx).
 */
export function relayPushes(options: { pubsubHost: string; projectId: string; sandboxUrl: string; receiverUrl: string }): { stop(): Promise<void> } {
  const base = `http://${options.pubsubHost}/v1/projects/${options.projectId}/subscriptions/task-changes-local-receiver`;
  let stopped = false;
  const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: path ? 'POST' : 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const loop = (async () => {
    await post('', { topic: `projects/${options.projectId}/topics/task-changes`, ackDeadlineSeconds: 30, enableMessageOrdering: true });
    while (!stopped) {
      const pulled = (await (await post(':pull', { maxMessages: 100, returnImmediately: true })).json().catch(() => ({}))) as { receivedMessages?: { ackId: string; message: { data: string; messageId: string } }[] };
      const messages = pulled.receivedMessages ?? [];
      const now = Math.floor(Date.now() / 1000);
      const token = await signIdToken(options.sandboxUrl, { claims: { iss: 'https://accounts.google.com', aud: options.receiverUrl, sub: 'local-pusher', email: LOCAL_PUSHER, email_verified: true, iat: now, exp: now + 3600 } });
      const acked: string[] = [];
      for (const m of messages) {
        const response = await fetch(options.receiverUrl, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ message: m.message }) });
        if (response.ok) acked.push(m.ackId);
      }
      if (acked.length > 0) await post(':acknowledge', { ackIds: acked });
      if (messages.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop.catch(() => undefined);
    },
  };
}
