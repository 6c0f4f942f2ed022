import { errors } from './google-errors';
import type { Router } from './http';
import type { Mailbox } from './mailbox';
import { GMAIL_BASE, messageResource, type GmailCall } from './gmail-common';

/** users.labels.list / labels.get and users.threads.get, read-only. */

const SYSTEM_LABELS = ['INBOX', 'SENT', 'DRAFT', 'SPAM', 'TRASH', 'UNREAD', 'STARRED', 'IMPORTANT', 'CHAT', 'CATEGORY_PERSONAL', 'CATEGORY_SOCIAL', 'CATEGORY_PROMOTIONS', 'CATEGORY_UPDATES', 'CATEGORY_FORUMS'];

/** Every label: the system ones, and each user label some message carries (`Label_…`). */
function labelsOf(mailbox: Mailbox): string[] {
  const user = new Set<string>();
  for (const m of mailbox.messages.values()) for (const l of m.labelIds) if (!SYSTEM_LABELS.includes(l)) user.add(l);
  return [...SYSTEM_LABELS, ...[...user].sort()];
}

function labelResource(mailbox: Mailbox, id: string, withCounts: boolean) {
  const system = SYSTEM_LABELS.includes(id);
  const base = { id, name: system ? id : id.replace(/^Label_/, ''), type: system ? 'system' : 'user' };
  if (!withCounts) return base;
  const carrying = [...mailbox.messages.values()].filter((m) => !m.deleted && m.labelIds.has(id));
  return {
    ...base,
    messagesTotal: carrying.length,
    messagesUnread: carrying.filter((m) => m.labelIds.has('UNREAD')).length,
    threadsTotal: new Set(carrying.map((m) => m.threadId)).size,
    threadsUnread: new Set(carrying.filter((m) => m.labelIds.has('UNREAD')).map((m) => m.threadId)).size,
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
