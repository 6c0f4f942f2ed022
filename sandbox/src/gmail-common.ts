import type { ApiContext } from './api-call';
import { errors } from './google-errors';
import type { Handler, Reply } from './http';
import type { StoredMessage } from './mailbox';
import type { World } from './world';

/** What the Gmail resources share: scopes, the user check, page tokens and the message shape. */

export const GMAIL_SCOPES = [
  'https://mail.google.com/',
  'https://www.googleapis.com/auth/gmail.modify',
  'https://www.googleapis.com/auth/gmail.readonly',
  'https://www.googleapis.com/auth/gmail.metadata',
];
export const FULL_READ_SCOPES = GMAIL_SCOPES.filter((s) => !s.endsWith('gmail.metadata'));
export const GMAIL_BASE = '/gmail/v1/users/:userId';

/** Wraps a Gmail method: authentication, faults, quota, then the `userId` check. */
export type GmailCall = (method: string, run: (context: ApiContext) => Reply | Promise<Reply>) => Handler;

export function checkUser(context: ApiContext): void {
  const userId = context.request.params.userId;
  if (userId !== 'me' && userId !== context.account.email) {
    throw errors.forbidden(`Delegation denied for ${context.account.email}`);
  }
}

export function pageSize(raw: string | null, fallback: number, max: number): number {
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw errors.badRequest(`Invalid maxResults: ${raw}`);
  return Math.min(n, max);
}

export function encodeToken(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeToken<T>(raw: string | null): T | null {
  if (raw === null) return null;
  try {
    return JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as T;
  } catch {
    throw errors.badRequest('Invalid pageToken', 'invalid', 'pageToken');
  }
}

/** The history id a read answers with: that of the last readable change, or, lag set so, the newest. */
export function answeredHistoryId(world: World, context: ApiContext): string {
  const { mailbox, email } = context.account;
  return (world.lag.historyIdAhead(email) ? mailbox.historyId : mailbox.readableHistoryId(context.now)).toString();
}

export function messageResource(message: StoredMessage, format: string, headers: string[]) {
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
    ...message.headers,
  ];
  const wanted = headers.map((h) => h.toLowerCase());
  const selected = wanted.length === 0 ? all : all.filter((h) => wanted.includes(h.name.toLowerCase()));
  return { ...base, payload: { partId: '', mimeType: 'text/plain', filename: '', headers: selected } };
}
