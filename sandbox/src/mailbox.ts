import { visibleAt } from './lag';
import type { Random } from './random';

/**
 * One Gmail mailbox: messages, labels and the history log. History ids are uint64 values
 * (BigInt here) that increase with gaps, as Gmail's do.
 */

/** Gmail's system labels; any other label id is a user label. */
export const SYSTEM_LABELS = ['INBOX', 'SENT', 'DRAFT', 'SPAM', 'TRASH', 'UNREAD', 'STARRED', 'IMPORTANT', 'CHAT', 'CATEGORY_PERSONAL', 'CATEGORY_SOCIAL', 'CATEGORY_PROMOTIONS', 'CATEGORY_UPDATES', 'CATEGORY_FORUMS'];

export interface UserLabel {
  id: string;
  name: string;
  messageListVisibility: 'show' | 'hide';
  labelListVisibility: 'labelShow' | 'labelShowIfUnread' | 'labelHide';
}

export interface Header {
  name: string;
  value: string;
}

export interface StoredMessage {
  id: string;
  threadId: string;
  labelIds: Set<string>;
  from: string;
  to: string;
  subject: string;
  date: string;
  internalDate: number;
  historyId: bigint;
  snippet: string;
  /** Headers beyond From, To, Subject, Date and Message-ID (e.g. List-Unsubscribe, Precedence). */
  headers: Header[];
  deleted: boolean;
  /** Sandbox-clock time from which reads serve the message (read-after-push lag). */
  visibleAt: number;
}

export type HistoryKind = 'messageAdded' | 'messageDeleted' | 'labelAdded' | 'labelRemoved';

export interface HistoryRecord {
  id: bigint;
  at: number;
  kind: HistoryKind;
  messageId: string;
  threadId: string;
  /** The labels this change added or removed (label changes only). */
  changedLabels: string[];
  /** Labels the message carried before and after the change: the `labelId` filter reads both. */
  labelsBefore: string[];
  labelsAfter: string[];
  /** Sandbox-clock time from which history.list serves the record (read-after-push lag). */
  visibleAt: number;
  /** The mailbox's history id just before this record. */
  previousHistoryId: bigint;
}

export interface Change {
  record: HistoryRecord;
  message: StoredMessage;
}

export class Mailbox {
  historyId: bigint;
  /** Start ids below this are older than the retained history: 404. */
  oldestValidStart: bigint;
  readonly records: HistoryRecord[] = [];
  readonly messages = new Map<string, StoredMessage>();
  readonly userLabels = new Map<string, UserLabel>();
  private nextLabelNumber: number;

  private lastVisibleAt = 0;

  constructor(
    readonly email: string,
    private readonly random: Random,
    /** The read-after-push lag of a change made now (0: readable at once). */
    private readonly lagMs: () => number = () => 0,
  ) {
    this.historyId = BigInt(random.int(100_000, 900_000)) * 1000n;
    this.oldestValidStart = this.historyId;
    this.nextLabelNumber = random.int(1, 50) * 100;
  }

  private nextHistoryId(): bigint {
    this.historyId += BigInt(this.random.int(1, 7));
    return this.historyId;
  }

  private record(message: StoredMessage, kind: HistoryKind, now: number, changed: string[], before: string[]): Change {
    const previousHistoryId = this.historyId;
    const id = this.nextHistoryId();
    message.historyId = id;
    this.lastVisibleAt = visibleAt(now, this.lagMs(), this.lastVisibleAt);
    if (kind === 'messageAdded') message.visibleAt = this.lastVisibleAt;
    const record: HistoryRecord = {
      id,
      at: now,
      kind,
      messageId: message.id,
      threadId: message.threadId,
      changedLabels: changed,
      labelsBefore: before,
      labelsAfter: [...message.labelIds],
      visibleAt: this.lastVisibleAt,
      previousHistoryId,
    };
    this.records.push(record);
    return { record, message };
  }

  deliver(input: { from: string; to?: string; subject: string; labelIds?: string[]; threadId?: string; headers?: Header[] }, now: number): Change {
    const id = this.random.hex(16);
    this.knowLabels(input.labelIds ?? []);
    const message: StoredMessage = {
      id,
      threadId: input.threadId ?? id,
      labelIds: new Set(input.labelIds ?? ['INBOX', 'UNREAD']),
      from: input.from,
      to: input.to ?? this.email,
      subject: input.subject,
      date: new Date(now).toUTCString().replace('GMT', '+0000'),
      internalDate: now,
      historyId: 0n,
      snippet: '',
      headers: input.headers ?? [],
      deleted: false,
      visibleAt: now,
    };
    this.messages.set(id, message);
    return this.record(message, 'messageAdded', now, [], []);
  }

  /** Adds and removes labels; one history record per kind of change, as Gmail writes them. */
  modifyLabels(id: string, add: string[], remove: string[], now: number): Change[] {
    const message = this.live(id);
    this.knowLabels(add);
    const changes: Change[] = [];
    const added = add.filter((l) => !message.labelIds.has(l));
    if (added.length > 0) {
      const before = [...message.labelIds];
      added.forEach((l) => message.labelIds.add(l));
      changes.push(this.record(message, 'labelAdded', now, added, before));
    }
    const removed = remove.filter((l) => message.labelIds.has(l));
    if (removed.length > 0) {
      const before = [...message.labelIds];
      removed.forEach((l) => message.labelIds.delete(l));
      changes.push(this.record(message, 'labelRemoved', now, removed, before));
    }
    return changes;
  }

  /** A user label, as Gmail's web app creates one (`Label_<n>` ids); names are unique, ignoring case. */
  createLabel(name: string): UserLabel {
    const taken = [...SYSTEM_LABELS, ...[...this.userLabels.values()].map((l) => l.name)].some((n) => n.toLowerCase() === name.toLowerCase());
    if (taken) throw new Error(`label name exists or conflicts: ${name}`);
    this.nextLabelNumber += this.random.int(1, 9);
    const label: UserLabel = { id: `Label_${this.nextLabelNumber}`, name, messageListVisibility: 'show', labelListVisibility: 'labelShow' };
    this.userLabels.set(label.id, label);
    return label;
  }

  /** Deletes a user label: every message carrying it loses it, one history record each. */
  deleteLabel(id: string, now: number): Change[] {
    if (!this.userLabels.has(id)) throw new Error(`no label ${id} in ${this.email}`);
    const changes = [...this.messages.values()]
      .filter((m) => !m.deleted && m.labelIds.has(id))
      .flatMap((m) => this.modifyLabels(m.id, [], [id], now));
    this.userLabels.delete(id);
    return changes;
  }

  /** A user label id put on a message without being created first exists from then on, named after its id. */
  private knowLabels(ids: string[]): void {
    for (const id of ids) {
      if (!SYSTEM_LABELS.includes(id) && !this.userLabels.has(id)) {
        this.userLabels.set(id, { id, name: id.replace(/^Label_/, ''), messageListVisibility: 'show', labelListVisibility: 'labelShow' });
      }
    }
  }

  delete(id: string, now: number): Change {
    const message = this.live(id);
    const before = [...message.labelIds];
    message.deleted = true;
    return this.record(message, 'messageDeleted', now, [], before);
  }

  live(id: string): StoredMessage {
    const message = this.messages.get(id);
    if (!message || message.deleted) throw new Error(`no message ${id} in ${this.email}`);
    return message;
  }

  /** Whether reads serve the message yet (it exists, and its arrival is no longer lagging). */
  readable(message: StoredMessage | undefined, now: number): message is StoredMessage {
    return message !== undefined && !message.deleted && message.visibleAt <= now;
  }

  /** The records history.list serves now: the log up to its first still-hidden record. */
  readableRecords(now: number): HistoryRecord[] {
    const hidden = this.firstHiddenRecord(now);
    return hidden === -1 ? this.records : this.records.slice(0, hidden);
  }

  /** The history id of the last readable change. */
  readableHistoryId(now: number): bigint {
    const hidden = this.firstHiddenRecord(now);
    return hidden === -1 ? this.historyId : this.records[hidden]!.previousHistoryId;
  }

  /** Hidden records form a suffix of the log (visibility times never decrease): scan from the end. */
  private firstHiddenRecord(now: number): number {
    let index = this.records.length;
    while (index > 0 && this.records[index - 1]!.visibleAt > now) index -= 1;
    return index === this.records.length ? -1 : index;
  }

  /** Forgets all history so far: any older start id now gets 404. */
  expireHistory(): void {
    this.oldestValidStart = this.historyId;
    this.records.length = 0;
  }

  /** Drops records older than the retention window (sandbox clock). */
  pruneHistory(now: number, retentionMs: number): void {
    let dropped = 0;
    while (dropped < this.records.length && this.records[dropped]!.at < now - retentionMs) dropped += 1;
    if (dropped === 0) return;
    this.oldestValidStart = this.records[dropped - 1]!.id;
    this.records.splice(0, dropped);
  }
}
