import { errors } from './google-errors';
import type { Router } from './http';
import { SYSTEM_LABELS, type Mailbox } from './mailbox';
import { GMAIL_BASE, messageResource, type GmailCall } from './gmail-common';

/** users.labels.list / labels.get and users.threads.get, read-only. */

/** Every label id: the system ones, then the user labels. */
function labelsOf(mailbox: Mailbox): string[] {
  return [...SYSTEM_LABELS, ...mailbox.userLabels.keys()];
}

/** As labels.list shows a label; labels.get adds the counts. */
function labelResource(mailbox: Mailbox, id: string, withCounts: boolean) {
  const user = mailbox.userLabels.get(id);
  const base = user ? { ...user, type: 'user' } : { id, name: id, type: 'system' };
  if (!withCounts) return base;
  const carrying = [...mailbox.messages.values()].filter((m) => !m.deleted && m.labelIds.has(id));
  const unread = carrying.filter((m) => m.labelIds.has('UNREAD'));
  return {
    ...base,
    messagesTotal: carrying.length,
    messagesUnread: unread.length,
    threadsTotal: new Set(carrying.map((m) => m.threadId)).size,
    threadsUnread: new Set(unread.map((m) => m.threadId)).size,
  };
}

export function registerLabelsAndThreads(router: Router, call: GmailCall): void {
  router.on('GET', `${GMAIL_BASE}/labels`, call('gmail.users.labels.list', ({ account }) => ({
    status: 200,
    body: { labels: labelsOf(account.mailbox).map((id) => labelResource(account.mailbox, id, false)) },
  })));

  router.on('GET', `${GMAIL_BASE}/labels/:id`, call('gmail.users.labels.get', ({ request, account }) => {
    const id = request.params.id ?? '';
    if (!labelsOf(account.mailbox).includes(id)) throw errors.notFound();
    return { status: 200, body: labelResource(account.mailbox, id, true) };
  }));

  router.on('GET', `${GMAIL_BASE}/threads/:id`, call('gmail.users.threads.get', ({ request, account, now }) => {
    const format = request.query.get('format') ?? 'full';
    const messages = [...account.mailbox.messages.values()]
      .filter((m) => account.mailbox.readable(m, now) && m.threadId === request.params.id)
      .sort((a, b) => a.internalDate - b.internalDate || (a.historyId > b.historyId ? 1 : -1));
    if (messages.length === 0) throw errors.notFound();
    const historyId = messages.reduce((max, m) => (m.historyId > max ? m.historyId : max), 0n);
    const headers = request.query.getAll('metadataHeaders');
    return { status: 200, body: { id: request.params.id, historyId: historyId.toString(), messages: messages.map((m) => messageResource(m, format === 'minimal' ? 'minimal' : 'metadata', headers)) } };
  }));
}
