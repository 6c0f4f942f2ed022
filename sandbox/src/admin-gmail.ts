import * as z from 'zod';
import { AdminError, accountOf, parse, type AdminOn } from './admin-common';
import type { World } from './world';

/** Admin routes that change mailboxes: mail in and out, labels, history. */

const CATEGORIES = ['personal', 'social', 'promotions', 'updates', 'forums'] as const;
const header = z.object({ name: z.string().min(1).regex(/^[!-9;-~]+$/, 'a header name'), value: z.string() });

const schemas = {
  message: z.object({
    from: z.string().min(1).default('Sender <sender@example.com>'),
    subject: z.string().default('(no subject)'),
    labelIds: z.array(z.string().min(1)).optional(),
    threadId: z.string().optional(),
    /** Gmail's inbox category: adds its CATEGORY_* label. */
    category: z.enum(CATEGORIES).optional(),
    /** More headers, e.g. List-Unsubscribe or Precedence. */
    headers: z.array(header).default([]),
  }),
  sent: z.object({
    to: z.string().min(1),
    subject: z.string().default('(no subject)'),
    threadId: z.string().optional(),
    headers: z.array(header).default([]),
  }),
  labels: z.object({ add: z.array(z.string().min(1)).default([]), remove: z.array(z.string().min(1)).default([]) }),
  label: z.object({ name: z.string().trim().min(1).max(225) }),
};

/** The address inside `Name <address>`, or the whole value. */
function addressOf(value: string): string {
  return (/<([^>]+)>/.exec(value)?.[1] ?? value).trim().toLowerCase();
}

export function registerAdminGmail(on: AdminOn, world: World): void {
  on('POST', '/accounts/:email/messages', (request) => {
    const account = accountOf(world, request);
    const input = parse(schemas.message, request.body);
    const labelIds = [...(input.labelIds ?? ['INBOX', 'UNREAD']), ...(input.category ? [`CATEGORY_${input.category.toUpperCase()}`] : [])];
    const change = account.mailbox.deliver(
      { from: input.from, subject: input.subject, labelIds, headers: input.headers, ...(input.threadId && { threadId: input.threadId }) },
      world.clock.now(),
    );
    const notice = world.gmailChanged(account, [change]);
    return { status: 201, body: { id: change.message.id, threadId: change.message.threadId, historyId: change.record.id.toString(), ...notice } };
  });

  // Mail the account sends: SENT, From the account; mail to itself also lands in its inbox.
  on('POST', '/accounts/:email/messages/sent', (request) => {
    const account = accountOf(world, request);
    const input = parse(schemas.sent, request.body);
    const toSelf = input.to.split(',').some((to) => addressOf(to) === account.email.toLowerCase());
    const change = account.mailbox.deliver(
      { from: account.email, to: input.to, subject: input.subject, labelIds: toSelf ? ['SENT', 'INBOX', 'UNREAD'] : ['SENT'], headers: input.headers, ...(input.threadId && { threadId: input.threadId }) },
      world.clock.now(),
    );
    const notice = world.gmailChanged(account, [change]);
    return { status: 201, body: { id: change.message.id, threadId: change.message.threadId, historyId: change.record.id.toString(), ...notice } };
  });

  on('POST', '/accounts/:email/messages/:id/labels', (request) => {
    const account = accountOf(world, request);
    const { add, remove } = parse(schemas.labels, request.body);
    const changes = account.mailbox.modifyLabels(request.params.id ?? '', add, remove, world.clock.now());
    world.gmailChanged(account, changes);
    return { status: 200, body: { historyId: account.mailbox.historyId.toString() } };
  });

  on('POST', '/accounts/:email/messages/:id/archive', (request) => {
    const account = accountOf(world, request);
    const changes = account.mailbox.modifyLabels(request.params.id ?? '', [], ['INBOX'], world.clock.now());
    world.gmailChanged(account, changes);
    return { status: 200, body: { historyId: account.mailbox.historyId.toString() } };
  });

  on('DELETE', '/accounts/:email/messages/:id', (request) => {
    const account = accountOf(world, request);
    const change = account.mailbox.delete(request.params.id ?? '', world.clock.now());
    world.gmailChanged(account, [change]);
    return { status: 200, body: { historyId: change.record.id.toString() } };
  });

  on('POST', '/accounts/:email/labels', (request) => {
    const account = accountOf(world, request);
    const { name } = parse(schemas.label, request.body);
    try {
      return { status: 201, body: account.mailbox.createLabel(name) };
    } catch (error) {
      throw new AdminError(409, error instanceof Error ? error.message : String(error));
    }
  });

  on('DELETE', '/accounts/:email/labels/:id', (request) => {
    const account = accountOf(world, request);
    const changes = account.mailbox.deleteLabel(request.params.id ?? '', world.clock.now());
    world.gmailChanged(account, changes);
    return { status: 200, body: { historyId: account.mailbox.historyId.toString() } };
  });

  on('POST', '/accounts/:email/history/expire', (request) => {
    accountOf(world, request).mailbox.expireHistory();
    return { status: 204 };
  });
}
