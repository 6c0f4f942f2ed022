import { apiCall, type ApiContext } from './api-call';
import { errors, GoogleApiError } from './google-errors';
import type { Handler, Reply, Router } from './http';
import type { HistoryKind, HistoryRecord, Mailbox, StoredMessage } from './mailbox';
import { WATCH_TTL_MS, type World } from './world';

/** Gmail v1 under /gmail/v1/users/{userId}/…, as the official client calls it. */

const GMAIL_SCOPES = [
  'https://mail.google.com/',
  'https://www.googleapis.com/auth/gmail.modify',
  'https://www.googleapis.com/auth/gmail.readonly',
  'https://www.googleapis.com/auth/gmail.metadata',
];
const FULL_READ_SCOPES = GMAIL_SCOPES.filter((s) => !s.endsWith('gmail.metadata'));
const HISTORY_TYPES = new Set<HistoryKind>(['messageAdded', 'messageDeleted', 'labelAdded', 'labelRemoved']);
const TOPIC = /^projects\/[^/]+\/topics\/[^/]+$/;

function checkUser(context: ApiContext): void {
  const userId = context.request.params.userId;
  if (userId !== 'me' && userId !== context.account.email) {
    throw errors.forbidden(`Delegation denied for ${context.account.email}`);
  }
}

function pageSize(raw: string | null, fallback: number, max: number): number {
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw errors.badRequest(`Invalid maxResults: ${raw}`);
  return Math.min(n, max);
}

function encodeToken(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeToken<T>(raw: string | null): T | null {
  if (raw === null) return null;
  try {
    return JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as T;
  } catch {
    throw errors.badRequest('Invalid pageToken', 'invalid', 'pageToken');
  }
}

const ref = (r: { messageId: string; threadId: string }) => ({ id: r.messageId, threadId: r.threadId });

function historyEntry(record: HistoryRecord, types: Set<HistoryKind>) {
  const message = ref(record);
  const entry: Record<string, unknown> = { id: record.id.toString(), messages: [message] };
  if (!types.has(record.kind)) return null;
  switch (record.kind) {
    case 'messageAdded':
      entry.messagesAdded = [{ message }];
      break;
    case 'messageDeleted':
      entry.messagesDeleted = [{ message }];
      break;
    case 'labelAdded':
      entry.labelsAdded = [{ message, labelIds: record.changedLabels }];
      break;
    case 'labelRemoved':
      entry.labelsRemoved = [{ message, labelIds: record.changedLabels }];
      break;
  }
  return entry;
}

function messageResource(message: StoredMessage, format: string, headers: string[]) {
  const base = {
    id: message.id,
    threadId: message.threadId,
    labelIds: [...message.labelIds],
    snippet: message.snippet,
    sizeEstimate: 512 + message.subject.length,
    historyId: message.historyId.toString(),
    internalDate: String(message.internalDate),
  };
  if (format === 'minimal') return base;
  const all = [
    { name: 'From', value: message.from },
    { name: 'To', value: message.to },
    { name: 'Subject', value: message.subject },
    { name: 'Date', value: message.date },
    { name: 'Message-ID', value: `<${message.id}@sandbox.local>` },
  ];
  const wanted = headers.map((h) => h.toLowerCase());
  const selected = wanted.length === 0 ? all : all.filter((h) => wanted.includes(h.name.toLowerCase()));
  return { ...base, payload: { partId: '', mimeType: 'text/plain', filename: '', headers: selected } };
}

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

/** users.labels.list / labels.get and users.threads.get, read-only. */
function registerLabelsAndThreads(router: Router, base: string, call: (method: string, run: (c: ApiContext) => Reply) => Handler): void {
  router.on('GET', `${base}/labels`, call('gmail.users.labels.list', ({ account }) => ({
    status: 200,
    body: { labels: labelsOf(account.mailbox).map((id) => labelResource(account.mailbox, id, false)) },
  })));

  router.on('GET', `${base}/labels/:id`, call('gmail.users.labels.get', ({ request, account }) => {
    const id = request.params.id ?? '';
    if (!labelsOf(account.mailbox).includes(id)) throw errors.notFound();
    return { status: 200, body: labelResource(account.mailbox, id, true) };
  }));

  router.on('GET', `${base}/threads/:id`, call('gmail.users.threads.get', ({ request, account }) => {
    const format = request.query.get('format') ?? 'full';
    const messages = [...account.mailbox.messages.values()]
      .filter((m) => !m.deleted && m.threadId === request.params.id)
      .sort((a, b) => a.internalDate - b.internalDate || (a.historyId > b.historyId ? 1 : -1));
    if (messages.length === 0) throw errors.notFound();
    const historyId = messages.reduce((max, m) => (m.historyId > max ? m.historyId : max), 0n);
    const headers = request.query.getAll('metadataHeaders');
    return { status: 200, body: { id: request.params.id, historyId: historyId.toString(), messages: messages.map((m) => messageResource(m, format === 'minimal' ? 'minimal' : 'metadata', headers)) } };
  }));
}

export function registerGmail(router: Router, world: World): void {
  const base = '/gmail/v1/users/:userId';
  const call = (method: string, run: (c: ApiContext) => Reply | Promise<Reply>) =>
    apiCall(world, method, GMAIL_SCOPES, (context) => {
      checkUser(context);
      return run(context);
    });
  registerLabelsAndThreads(router, base, call);

  router.on(
    'GET',
    `${base}/profile`,
    call('gmail.users.getProfile', ({ account }) => ({
      status: 200,
      body: {
        emailAddress: account.email,
        messagesTotal: [...account.mailbox.messages.values()].filter((m) => !m.deleted).length,
        threadsTotal: new Set([...account.mailbox.messages.values()].filter((m) => !m.deleted).map((m) => m.threadId)).size,
        historyId: account.mailbox.historyId.toString(),
      },
    })),
  );

  router.on(
    'POST',
    `${base}/watch`,
    call('gmail.users.watch', async ({ request, account, now }) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const topicName = body.topicName;
      if (typeof topicName !== 'string' || !TOPIC.test(topicName)) {
        throw errors.badRequest('Invalid topicName does not match projects/SOME-ANDROID-PROJECT/topics/*');
      }
      if (!(await world.push.topicExists(topicName))) {
        throw new GoogleApiError(404, `Resource not found (resource=${topicName.split('/').pop()}).`, { reason: 'notFound' });
      }
      const labelIds = Array.isArray(body.labelIds) ? body.labelIds.filter((l): l is string => typeof l === 'string') : [];
      const rawBehavior = body.labelFilterBehavior ?? body.labelFilterAction ?? 'include';
      const behavior = typeof rawBehavior === 'string' ? rawBehavior.toLowerCase() : '';
      if (behavior !== 'include' && behavior !== 'exclude') throw errors.badRequest('Invalid labelFilterBehavior');
      const expiration = now + WATCH_TTL_MS;
      account.gmailWatch = { topicName, labelIds, behavior, expiration, lastPublishAt: 0 };
      // Gmail sends one notification right after a watch call.
      account.gmailWatch.lastPublishAt = Date.now();
      world.push.publishGmail(topicName, account.email, account.mailbox.historyId);
      return { status: 200, body: { historyId: account.mailbox.historyId.toString(), expiration: String(expiration) } };
    }),
  );

  router.on(
    'POST',
    `${base}/stop`,
    call('gmail.users.stop', ({ account }) => {
      account.gmailWatch = null;
      return { status: 204 };
    }),
  );

  router.on(
    'GET',
    `${base}/history`,
    call('gmail.users.history.list', ({ request, account }) => {
      const { query } = request;
      const mailbox = account.mailbox;
      const rawStart = query.get('startHistoryId');
      if (rawStart === null || !/^\d{1,20}$/.test(rawStart)) {
        throw errors.badRequest(rawStart === null ? "Missing required parameter 'startHistoryId'" : 'Invalid startHistoryId', 'invalidArgument');
      }
      const start = BigInt(rawStart);
      if (start < mailbox.oldestValidStart) throw errors.notFound();

      const rawTypes = query.getAll('historyTypes');
      const types = new Set<HistoryKind>(rawTypes.length === 0 ? HISTORY_TYPES : []);
      for (const t of rawTypes) {
        if (!HISTORY_TYPES.has(t as HistoryKind)) throw errors.badRequest(`Invalid value for historyTypes: ${t}`);
        types.add(t as HistoryKind);
      }
      const labelId = query.get('labelId');
      const max = pageSize(query.get('maxResults'), 100, 500);
      const after = BigInt(decodeToken<{ after: string }>(query.get('pageToken'))?.after ?? rawStart);

      const entries: Record<string, unknown>[] = [];
      let lastSeen: bigint | null = null;
      let more = false;
      for (const record of mailbox.records) {
        if (record.id <= after) continue;
        if (labelId && !record.labelsBefore.includes(labelId) && !record.labelsAfter.includes(labelId)) continue;
        const entry = historyEntry(record, types);
        if (!entry) continue;
        if (entries.length === max) {
          more = true;
          break;
        }
        entries.push(entry);
        lastSeen = record.id;
      }
      const body: Record<string, unknown> = { historyId: mailbox.historyId.toString() };
      if (entries.length > 0) body.history = entries;
      if (more && lastSeen !== null) body.nextPageToken = encodeToken({ after: lastSeen.toString() });
      return { status: 200, body };
    }),
  );

  router.on(
    'GET',
    `${base}/messages`,
    call('gmail.users.messages.list', ({ request, account, grant }) => {
      const { query } = request;
      if (query.get('q') !== null && !FULL_READ_SCOPES.some((s) => grant.scopes.includes(s))) {
        throw errors.forbidden("Metadata scope does not support 'q' parameter");
      }
      const labelIds = query.getAll('labelIds');
      const includeSpamTrash = query.get('includeSpamTrash') === 'true';
      const max = pageSize(query.get('maxResults'), 100, 500);
      const offset = decodeToken<{ offset: number }>(query.get('pageToken'))?.offset ?? 0;
      const matching = [...account.mailbox.messages.values()]
        .filter((m) => !m.deleted)
        .filter((m) => includeSpamTrash || (!m.labelIds.has('SPAM') && !m.labelIds.has('TRASH')))
        .filter((m) => labelIds.every((l) => m.labelIds.has(l)))
        .sort((a, b) => b.internalDate - a.internalDate || (b.historyId > a.historyId ? 1 : -1));
      const page = matching.slice(offset, offset + max);
      const body: Record<string, unknown> = { resultSizeEstimate: matching.length };
      if (page.length > 0) body.messages = page.map((m) => ({ id: m.id, threadId: m.threadId }));
      if (offset + max < matching.length) body.nextPageToken = encodeToken({ offset: offset + max });
      return { status: 200, body };
    }),
  );

  router.on(
    'GET',
    `${base}/messages/:id`,
    call('gmail.users.messages.get', ({ request, account, grant }) => {
      const format = request.query.get('format') ?? 'full';
      if (!['minimal', 'metadata', 'full', 'raw'].includes(format)) throw errors.badRequest(`Invalid format: ${format}`);
      if ((format === 'full' || format === 'raw') && !FULL_READ_SCOPES.some((s) => grant.scopes.includes(s))) {
        throw errors.forbidden(`Metadata scope doesn't allow format ${format.toUpperCase()}`);
      }
      const message = account.mailbox.messages.get(request.params.id ?? '');
      if (!message || message.deleted) throw errors.notFound();
      return { status: 200, body: messageResource(message, format, request.query.getAll('metadataHeaders')) };
    }),
  );
}
