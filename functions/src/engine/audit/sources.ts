import { calendarTask } from '../calendar/sync';
import { syncedCalendars } from '../calendar/state';
import { calendarVerdict, gmailFetchedVerdict, gmailListedVerdict, openTasksNotListed, type CalendarVerdict } from './compare';
import { gmailTask, listTaskMail, matches, ruleOf } from '../gmail/rule';
import { type AuditCounts, type Source, type Task, type TaskOrigin } from '../model';
import type { CalendarApi, CalendarEvent } from '../calendar/ports';
import type { GmailApi } from '../gmail/ports';
import type { TaskStore } from '../ports';
import type { CalendarWindow } from '../task-rule';

/**
 * One source's audit, per type: list what Google has in the window, compare with our tasks,
 * repair through the task store's own idempotent writes (upsert / status change guarded by
 * `externalUpdatedAt`), so a sync running at the same time always wins over the audit.
 */

/** Gmail quota units (the model of projects created since 2025). */
export const GMAIL_UNITS = { messagesList: 5, messagesGet: 20 } as const;
const LIST_PAGE = 100;
/** Metadata fetched at a time, newest first: the listing may stop at the first old one. */
const FETCH_BATCH = 10;
const CALENDAR_PAGE = 250;
const CALENDAR_MAX_PAGES = 20;

export interface AuditTaskReads {
  /** Our tasks for these external ids (absent ones are missing from the map). */
  tasksByIds(userId: string, sourceId: string, origin: TaskOrigin, externalIds: readonly string[], calendarId?: string): Promise<Map<string, Task>>;
  /** Open tasks of the source last written at or after `since`. */
  openTasksUpdatedSince(userId: string, sourceId: string, origin: TaskOrigin, since: Date): Promise<Task[]>;
}

/** Writes go through the task store sync uses; the audit's extra reads come from its own store. */
export interface AuditStores {
  tasks: TaskStore;
  reads: AuditTaskReads;
}

export interface AuditWindow {
  /** Start of the window: the later of now − window and the source's connection. */
  since: Date;
  /** Changes newer than this may still be on their way through a sync: not judged. */
  settledBefore: Date;
  /** When the audit started: the time its repairs carry, so newer syncs win. */
  at: Date;
  maxMessages: number;
  /** The task rule's calendar window: events outside it are not tasks. */
  calendar: CalendarWindow;
}

interface AuditedCalendar {
  source: Source;
  calendarId: string;
}

/** Which of the source's tasks a status change names: Gmail's, or one calendar's. */
type TaskKind = { origin: 'gmail' } | { origin: 'calendar'; calendarId: string };

const emptyCounts = (): AuditCounts => ({ checked: 0, missing: 0, wrongState: 0, repaired: 0, units: 0 });

export async function auditGmail(api: GmailApi, { tasks, reads }: AuditStores, source: Source, window: AuditWindow): Promise<AuditCounts> {
  const counts = emptyCounts();
  const listed = new Set<string>();
  const upserts: Task[] = [];
  const reopen: string[] = [];
  let pageToken: string | null = null;
  let reachedOld = false;
  do {
    const page = await listTaskMail(api, ruleOf(source), pageToken, Math.min(LIST_PAGE, window.maxMessages - listed.size));
    counts.units += GMAIL_UNITS.messagesList;
    pageToken = page.nextPageToken;
    const known = await reads.tasksByIds(source.userId, source.id, 'gmail', page.ids);
    const unknown: string[] = [];
    for (const id of page.ids) {
      const verdict = gmailListedVerdict(known.get(id), window.since);
      if (verdict === 'older') {
        // Everything after it is older still; the unknown ids before it are fetched below.
        reachedOld = true;
        break;
      }
      listed.add(id);
      if (verdict === 'missing') unknown.push(id);
      else counts.checked += 1;
      if (verdict === 'reopen') reopen.push(id);
    }
    if (await fetchUnknown(api, source, window, unknown, counts, upserts)) reachedOld = true;
  } while (pageToken !== null && !reachedOld && listed.size < window.maxMessages);

  // Open tasks of the window that the task-mail listing did not show: archived or deleted, unless the listing
  // stopped early, in which case each is confirmed from its metadata (bounded by maxMessages).
  const open = await reads.openTasksUpdatedSince(source.userId, source.id, 'gmail', window.since);
  const unlisted = openTasksNotListed(open, listed, window.settledBefore).slice(0, window.maxMessages);
  const complete = pageToken === null && !reachedOld;
  const unlistedIds = unlisted.map((t) => t.externalId);
  counts.checked += unlisted.length;
  // An archived task of listed mail is reopened only if the mail is task mail: the label
  // alone does not say so (an exclusion, e.g. one a rule change added, leaves it out). Its
  // metadata is fetched with that of the unlisted tasks a listing that stopped early leaves.
  const taskMail = await taskMailAmong(api, source, complete ? reopen : [...unlistedIds, ...reopen], counts);
  const archive = complete ? unlistedIds : unlistedIds.filter((id) => !taskMail.has(id));
  const reopened = reopen.filter((id) => taskMail.has(id));

  counts.missing = upserts.length;
  counts.wrongState = reopened.length + archive.length;
  counts.repaired += (await tasks.upsert(source.userId, upserts)).written;
  counts.repaired += await setStatus(tasks, source, { origin: 'gmail' }, reopened, 'open', window.at);
  counts.repaired += await setStatus(tasks, source, { origin: 'gmail' }, archive, 'archived', window.at);
  return counts;
}

/**
 * The messages we had no task for, newest first, fetched in batches: the missing ones become
 * `upserts`. True when one older than the window ended the listing.
 */
async function fetchUnknown(api: GmailApi, source: Source, window: AuditWindow, unknown: readonly string[], counts: AuditCounts, upserts: Task[]): Promise<boolean> {
  for (let i = 0; i < unknown.length; i += FETCH_BATCH) {
    const batch = unknown.slice(i, i + FETCH_BATCH);
    const metas = await api.getMessagesMetadata(batch);
    counts.units += GMAIL_UNITS.messagesGet * batch.length;
    for (const meta of batch.map((id) => metas.get(id) ?? null)) {
      const verdict = gmailFetchedVerdict(ruleOf(source), meta, window.since, window.settledBefore);
      if (verdict === 'older') return true;
      counts.checked += 1;
      if (verdict === 'missing') upserts.push(gmailTask(source, meta!, 'open', window.at));
    }
  }
  return false;
}

/** The messages among `ids` whose metadata says they are task mail, fetched in batches. */
async function taskMailAmong(api: GmailApi, source: Source, ids: readonly string[], counts: AuditCounts): Promise<Set<string>> {
  const taskMail = new Set<string>();
  for (let i = 0; i < ids.length; i += FETCH_BATCH) {
    const batch = ids.slice(i, i + FETCH_BATCH);
    const metas = await api.getMessagesMetadata(batch);
    counts.units += GMAIL_UNITS.messagesGet * batch.length;
    for (const id of batch) if (matches(ruleOf(source), metas.get(id))) taskMail.add(id);
  }
  return taskMail;
}

/** Every calendar the source syncs, one after the other; counts are summed. */
export async function auditCalendars(calendarOf: (calendarId: string) => Promise<CalendarApi>, stores: AuditStores, source: Source, window: AuditWindow): Promise<AuditCounts> {
  const total = emptyCounts();
  for (const calendarId of syncedCalendars(source)) {
    const counts = await auditCalendar(await calendarOf(calendarId), stores, { source, calendarId }, window);
    for (const key of Object.keys(total) as (keyof AuditCounts)[]) total[key] += counts[key];
  }
  return total;
}

async function auditCalendar(api: CalendarApi, { tasks, reads }: AuditStores, { source, calendarId }: AuditedCalendar, window: AuditWindow): Promise<AuditCounts> {
  const counts = emptyCounts();
  const events = await listChangedEvents(api, window, counts);
  const known = await reads.tasksByIds(source.userId, source.id, 'calendar', [...events.keys()], calendarId);
  const upserts: Task[] = [];
  const cancel: CalendarEvent[] = [];
  for (const event of events.values()) {
    const verdict = calendarVerdict(event, known.get(event.id), window.settledBefore, window.calendar, source.eventRules);
    countCalendarVerdict(counts, verdict);
    if (verdict === 'missing' || verdict === 'stale') upserts.push(calendarTask(source, calendarId, event, window.at, window.at));
    if (verdict === 'cancel') cancel.push(event);
  }
  counts.repaired += (await tasks.upsert(source.userId, upserts)).written;
  for (const event of cancel) {
    counts.repaired += await setStatus(tasks, source, { origin: 'calendar', calendarId }, [event.id], 'cancelled', event.updated ?? window.at);
  }
  return counts;
}

/** Events modified in the window, deleted ones included, within a bounded number of pages. */
async function listChangedEvents(api: CalendarApi, window: AuditWindow, counts: AuditCounts): Promise<Map<string, CalendarEvent>> {
  const events = new Map<string, CalendarEvent>();
  let pageToken: string | null = null;
  do {
    const page = await api.listEvents({ updatedMin: window.since, pageToken, maxResults: CALENDAR_PAGE });
    counts.units += 1;
    page.events.forEach((e) => events.set(e.id, e));
    pageToken = page.nextPageToken;
  } while (pageToken !== null && counts.units < CALENDAR_MAX_PAGES);
  return events;
}

function countCalendarVerdict(counts: AuditCounts, verdict: CalendarVerdict): void {
  if (verdict === 'skip') return;
  counts.checked += 1;
  if (verdict === 'missing') counts.missing += 1;
  if (verdict === 'stale' || verdict === 'cancel') counts.wrongState += 1;
}

async function setStatus(tasks: TaskStore, source: Source, kind: TaskKind, ids: readonly string[], status: Task['status'], at: Date): Promise<number> {
  if (ids.length === 0) return 0;
  return tasks.setStatusIfExists(source.userId, ids.map((externalId) => ({ sourceId: source.id, ...kind, externalId })), status, at);
}
