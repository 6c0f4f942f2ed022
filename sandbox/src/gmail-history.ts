import { errors } from './google-errors';
import type { Router } from './http';
import type { HistoryKind, HistoryRecord } from './mailbox';
import { answeredHistoryId, decodeToken, encodeToken, GMAIL_BASE, pageSize, type GmailCall } from './gmail-common';
import type { World } from './world';

/** users.history.list: the mailbox's change log after a start id, as far as reads serve it. */

const HISTORY_TYPES = new Set<HistoryKind>(['messageAdded', 'messageDeleted', 'labelAdded', 'labelRemoved']);

const ref = (r: { messageId: string; threadId: string }) => ({ id: r.messageId, threadId: r.threadId });

function historyEntry(record: HistoryRecord) {
  const message = ref(record);
  const entry: Record<string, unknown> = { id: record.id.toString(), messages: [message] };
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

function parseStart(raw: string | null): bigint {
  if (raw === null || !/^\d{1,20}$/.test(raw)) {
    throw errors.badRequest(raw === null ? "Missing required parameter 'startHistoryId'" : 'Invalid startHistoryId', 'invalidArgument');
  }
  return BigInt(raw);
}

function parseTypes(raw: string[]): Set<HistoryKind> {
  if (raw.length === 0) return HISTORY_TYPES;
  for (const t of raw) if (!HISTORY_TYPES.has(t as HistoryKind)) throw errors.badRequest(`Invalid value for historyTypes: ${t}`);
  return new Set(raw as HistoryKind[]);
}

/** `labelId`: records of messages that carried the label before or after the change. */
function touchesLabel(record: HistoryRecord, labelId: string | null): boolean {
  return labelId === null || record.labelsBefore.includes(labelId) || record.labelsAfter.includes(labelId);
}

export function registerHistory(router: Router, world: World, call: GmailCall): void {
  router.on('GET', `${GMAIL_BASE}/history`, call('gmail.users.history.list', (context) => {
    const { query } = context.request;
    const mailbox = context.account.mailbox;
    const start = parseStart(query.get('startHistoryId'));
    if (start < mailbox.oldestValidStart) throw errors.notFound();
    const types = parseTypes(query.getAll('historyTypes'));
    const labelId = query.get('labelId');
    const max = pageSize(query.get('maxResults'), 100, 500);
    const after = BigInt(decodeToken<{ after: string }>(query.get('pageToken'))?.after ?? start);

    const entries: Record<string, unknown>[] = [];
    let lastSeen: bigint | null = null;
    let more = false;
    for (const record of mailbox.readableRecords(context.now)) {
      if (record.id <= after || !types.has(record.kind) || !touchesLabel(record, labelId)) continue;
      if (entries.length === max) {
        more = true;
        break;
      }
      entries.push(historyEntry(record));
      lastSeen = record.id;
    }
    const body: Record<string, unknown> = { historyId: answeredHistoryId(world, context) };
    if (entries.length > 0) body.history = entries;
    if (more && lastSeen !== null) body.nextPageToken = encodeToken({ after: lastSeen.toString() });
    return { status: 200, body };
  }));
}
