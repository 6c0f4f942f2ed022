import { calendarPushRecorded, type SourceDecision } from '../../functions/src/engine/source/decisions';
import { LeaseWritesThroughDecisions } from '../../functions/src/engine/source/lease-writes';
import { DEFAULT_STATUS_SETTINGS, statusDerivation, withDerivedStatus, type StatusSettings } from '../../functions/src/engine/source/status';
import { taskIdFor, type IngestionEvent, type Source, type SourceData, type Task, type TaskOrigin } from '../../functions/src/engine/model';
import type { CalendarApi } from '../../functions/src/engine/calendar/ports';
import type { Clock, EventLog, GoogleAccess, Logger, LogFields, StatusUpdate, TaskStore } from '../../functions/src/engine/ports';
import type { GmailApi, GmailHistoryRecord, GmailMessageMetadata } from '../../functions/src/engine/gmail/ports';
import type { SourceStore } from '../../functions/src/engine/source/ports';
import { GoogleError } from '../../functions/src/engine/errors';
import type { FollowUpScheduler } from '../../functions/src/engine/runner/follow-up';
import { SyncRunner } from '../../functions/src/engine/runner/runner';
import { DEFAULT_TASK_RULE } from '../../functions/src/engine/task-rule';

/**
 * The engine's ports in memory, for runner scenarios that run in milliseconds without the
 * emulators. The source store keeps Firestore's contract: a decision is made on a version and
 * written only if the document is still at that version, else it is made again.
 */

/** Time that moves only when the test moves it. */
export class ManualClock implements Clock {
  constructor(private at = new Date('2026-12-01T10:00:00Z')) {}

  now(): Date {
    return new Date(this.at.getTime());
  }

  advance(ms: number): void {
    this.at = new Date(this.at.getTime() + ms);
  }
}

interface Versioned {
  version: number;
  source: Source;
}

const MAX_ATTEMPTS = 30;

export class InMemorySourceStore extends LeaseWritesThroughDecisions implements SourceStore {
  private readonly docs = new Map<string, Versioned>();

  constructor(private readonly statusSettings: StatusSettings = DEFAULT_STATUS_SETTINGS) {
    super();
  }
  /** Decisions made (one per attempt): a conflict makes the store decide again. */
  decisions = 0;
  writes = 0;
  /**
   * Runs between a decision and its write, once per `transition` call when set: a test's
   * concurrent writer, whose change makes the decision stale.
   */
  interleave: ((store: InMemorySourceStore, id: string) => void) | null = null;

  async get(id: string): Promise<Source | null> {
    await Promise.resolve();
    const doc = this.docs.get(id);
    return doc ? structuredClone(doc.source) : null;
  }

  async create(id: string, data: SourceData): Promise<void> {
    await Promise.resolve();
    if (this.docs.has(id)) throw new Error(`Source ${id} already exists`);
    this.docs.set(id, { version: 1, source: { id, ...structuredClone(data) } });
  }

  async findByEmail(email: string): Promise<Source[]> {
    await Promise.resolve();
    return [...this.docs.values()].filter((d) => d.source.email === email).map((d) => structuredClone(d.source));
  }

  /** A write outside any decision (a test's concurrent writer): bumps the version. */
  put(id: string, patch: Partial<SourceData>): void {
    const doc = this.docs.get(id);
    if (!doc) throw new Error(`Source ${id} does not exist`);
    this.docs.set(id, { version: doc.version + 1, source: { ...doc.source, ...structuredClone(patch) } });
  }

  async transition<T>(id: string, now: Date, decide: SourceDecision<T>): Promise<T> {
    const derive = statusDerivation(now, this.statusSettings);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      await Promise.resolve();
      const doc = this.docs.get(id);
      if (!doc) throw new Error(`Source ${id} does not exist`);
      this.decisions += 1;
      const { patch, result } = decide(structuredClone(doc.source), derive);
      if (patch === null) return result;
      const interleave = this.interleave;
      this.interleave = null;
      interleave?.(this, id);
      const current = this.docs.get(id)!;
      if (current.version !== doc.version) continue;
      this.writes += 1;
      const written = withDerivedStatus(current.source, patch, now, this.statusSettings);
      this.docs.set(id, { version: doc.version + 1, source: { ...current.source, ...structuredClone(written), updatedAt: now } });
      return result;
    }
    throw new Error(`Source ${id} kept changing: gave up after ${MAX_ATTEMPTS} attempts`);
  }

  async markCalendarPending(id: string, calendarId: string, now: Date): Promise<{ needsRun: boolean }> {
    const source = await this.get(id);
    if (!source) throw new Error(`Source ${id} does not exist`);
    const { write, needsRun } = calendarPushRecorded(source, calendarId, now);
    const calendars = [...new Set([...source.pending.calendars, calendarId])];
    if (write !== null) this.put(id, { pending: { ...source.pending, calendars }, updatedAt: now, ...(write.stampPush && { lastPushAt: now }) });
    return { needsRun };
  }
}

/** Tasks by id, with the Firestore store's ordering rule: a change older than the stored one is ignored. */
export class InMemoryTaskStore implements TaskStore {
  readonly tasks = new Map<string, Task>();

  async upsert(_userId: string, tasks: readonly Task[]): Promise<{ written: number; stale: number }> {
    await Promise.resolve();
    let written = 0;
    let stale = 0;
    for (const task of tasks) {
      const id = taskIdFor(task.sourceId, task.origin, task.externalId, task.calendarId);
      const stored = this.tasks.get(id);
      if (stored && stored.externalUpdatedAt > task.externalUpdatedAt) stale += 1;
      else {
        this.tasks.set(id, structuredClone(task));
        written += 1;
      }
    }
    return { written, stale };
  }

  insertNew(userId: string, tasks: readonly Task[]): Promise<{ written: number; stale: number }> {
    return this.upsert(userId, tasks);
  }

  async setStatusIfExists(_userId: string, updates: readonly StatusUpdate[], status: Task['status'], at: Date): Promise<number> {
    await Promise.resolve();
    let changed = 0;
    for (const update of updates) {
      const id = taskIdFor(update.sourceId, update.origin, update.externalId, update.calendarId);
      const stored = this.tasks.get(id);
      const changedAt = update.externalUpdatedAt ?? at;
      if (!stored || stored.status === status || stored.externalUpdatedAt > changedAt) continue;
      this.tasks.set(id, { ...stored, status, externalUpdatedAt: changedAt, updatedAt: at });
      changed += 1;
    }
    return changed;
  }

  async listOpen(_userId: string, sourceId: string, origin: TaskOrigin): Promise<Task[]> {
    await Promise.resolve();
    return [...this.tasks.values()].filter((t) => t.sourceId === sourceId && t.origin === origin && t.status === 'open');
  }

  ids(status: Task['status'] = 'open'): string[] {
    return [...this.tasks.values()].filter((t) => t.status === status).map((t) => t.externalId).sort();
  }
}

export class InMemoryEventLog implements EventLog {
  readonly events: IngestionEvent[] = [];

  async record(event: Omit<IngestionEvent, 'expireAt'>): Promise<IngestionEvent> {
    await Promise.resolve();
    const stored = { ...event, expireAt: new Date(event.createdAt.getTime() + 86_400_000) };
    this.events.push(stored);
    return stored;
  }
}

export class RecordingLogger implements Logger {
  readonly lines: { level: string; message: string; fields: LogFields }[] = [];
  debug(message: string, fields: LogFields = {}): void {
    this.lines.push({ level: 'debug', message, fields });
  }
  info(message: string, fields: LogFields = {}): void {
    this.lines.push({ level: 'info', message, fields });
  }
  warn(message: string, fields: LogFields = {}): void {
    this.lines.push({ level: 'warn', message, fields });
  }
  error(message: string, fields: LogFields = {}): void {
    this.lines.push({ level: 'error', message, fields });
  }
  messages(): string[] {
    return this.lines.map((l) => l.message);
  }
}

interface MailboxMessage {
  id: string;
  labelIds: string[];
  subject: string;
}

/**
 * A mailbox behind the engine's Gmail port: history ids grow by one per change, a history
 * listing pages `maxResults` records at a time, and `expireHistory` makes older cursors 404.
 */
export class InMemoryMailbox implements GmailApi {
  historyId = 1000;
  private oldestValidStart = 1000;
  private readonly records: (GmailHistoryRecord & { at: number })[] = [];
  readonly messages = new Map<string, MailboxMessage>();
  readonly calls: Record<string, number> = {};
  /**
   * Read-after-push lag: changes after `hiddenAfter` are not listed and their messages are not
   * listed and answer 404; the listing's history id is that of the last listed change, or the
   * newest (`ahead`, as `getProfile` always answers).
   */
  lag: { hiddenAfter: number; historyId: 'visible' | 'ahead' } | null = null;
  /** Messages whose metadata answers 404 although history lists them. */
  readonly unreadable = new Set<string>();
  /** Runs before every call: a test's hook to move its clock or fail a call. */
  beforeCall: ((operation: string) => void | Promise<void>) | null = null;

  private async call(operation: string): Promise<void> {
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    await Promise.resolve();
    await this.beforeCall?.(operation);
  }

  deliver(subject: string, labelIds: string[] = ['INBOX']): { id: string; historyId: string } {
    this.historyId += 1;
    const id = `m${this.historyId}`;
    this.messages.set(id, { id, labelIds, subject });
    this.records.push({ at: this.historyId, id: String(this.historyId), messagesAdded: [id], messagesDeleted: [], labelsAdded: [], labelsRemoved: [] });
    return { id, historyId: String(this.historyId) };
  }

  archive(id: string): string {
    this.historyId += 1;
    const message = this.messages.get(id)!;
    message.labelIds = message.labelIds.filter((l) => l !== 'INBOX');
    this.records.push({ at: this.historyId, id: String(this.historyId), messagesAdded: [], messagesDeleted: [], labelsAdded: [], labelsRemoved: [{ messageId: id, labelIds: ['INBOX'] }] });
    return String(this.historyId);
  }

  expireHistory(): void {
    this.oldestValidStart = this.historyId;
  }

  async getProfile(): Promise<{ emailAddress: string; historyId: string }> {
    await this.call('getProfile');
    return { emailAddress: 'ada@example.com', historyId: String(this.historyId) };
  }

  async listHistory(startHistoryId: string, pageToken: string | null, maxResults: number) {
    await this.call('listHistory');
    const start = Number(startHistoryId);
    if (start < this.oldestValidStart) throw new GoogleError('cursor-invalid', 'history expired', { status: 404 });
    const lag = this.lag;
    const after = this.records.filter((r) => r.at > start && (lag === null || r.at <= lag.hiddenAfter));
    const offset = pageToken === null ? 0 : Number(pageToken);
    const page = after.slice(offset, offset + maxResults);
    const next = offset + maxResults < after.length ? String(offset + maxResults) : null;
    const answer = lag === null || lag.historyId === 'ahead' ? this.historyId : Math.min(this.historyId, lag.hiddenAfter);
    return { records: page.map(({ at: _at, ...record }) => record), historyId: String(answer), nextPageToken: next };
  }

  async listLabels() {
    await this.call('listLabels');
    return ['INBOX', 'STARRED', 'IMPORTANT'].map((id) => ({ id, name: id, type: 'system' as const }));
  }

  async listMessageIds(labelId: string, pageToken: string | null, maxResults: number) {
    await this.call('listMessageIds');
    const ids = [...this.messages.values()].filter((m) => m.labelIds.includes(labelId) && !this.hidden(m.id)).map((m) => m.id).reverse();
    const offset = pageToken === null ? 0 : Number(pageToken);
    const next = offset + maxResults < ids.length ? String(offset + maxResults) : null;
    return { ids: ids.slice(offset, offset + maxResults), nextPageToken: next };
  }

  async getMessagesMetadata(ids: readonly string[]): Promise<Map<string, GmailMessageMetadata | null>> {
    await this.call('getMessagesMetadata');
    const found = new Map<string, GmailMessageMetadata | null>();
    for (const id of ids) {
      const m = this.unreadable.has(id) || this.hidden(id) ? undefined : this.messages.get(id);
      found.set(id, m ? { id, labelIds: [...m.labelIds], subject: m.subject, from: null, date: null, listUnsubscribe: null, precedence: null, internalDate: null } : null);
    }
    return found;
  }

  /** A message whose arrival still lags (its id carries its history id): reads do not serve it. */
  private hidden(id: string): boolean {
    return this.lag !== null && Number(id.slice(1)) > this.lag.hiddenAfter;
  }

  async watch(): Promise<{ historyId: string; expiration: Date }> {
    await this.call('watch');
    return { historyId: String(this.historyId), expiration: new Date(Date.now() + 7 * 86_400_000) };
  }

  async stop(): Promise<void> {
    await this.call('stop');
  }
}

/** Google access for one mailbox and no calendar. */
export function accessTo(mailbox: InMemoryMailbox, options: { warm?: boolean } = {}): GoogleAccess {
  return {
    gmail: () => Promise.resolve(mailbox),
    calendar: (): Promise<CalendarApi> => Promise.reject(new Error('no calendar in this test')),
    warmGmail: () => (options.warm ? mailbox : null),
  };
}

/** A production runner over in-memory stores and `google` (with no tail looks unless `followUps` is given): the runner scenarios' world. */
export function inMemoryRunner(google: GoogleAccess, options: { passBudgetMs?: number; followUps?: FollowUpScheduler } = {}) {
  const clock = new ManualClock();
  const sources = new InMemorySourceStore();
  const tasks = new InMemoryTaskStore();
  const logger = new RecordingLogger();
  const events = new InMemoryEventLog();
  const runner = new SyncRunner({
    sources,
    tasks,
    events,
    google,
    clock,
    logger,
    leaseMs: 60_000,
    passBudgetMs: options.passBudgetMs ?? 60_000,
    fetchBatchSize: 50,
    taskRule: DEFAULT_TASK_RULE,
    statusSettings: DEFAULT_STATUS_SETTINGS,
    followUps: options.followUps ?? null,
  });
  return { clock, sources, tasks, events, logger, runner };
}
