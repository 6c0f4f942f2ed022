import { isGoogleError } from '../errors';
import { EXCLUDABLE_EVENT_TYPES, MAX_SELECTED_CALENDARS, PRIMARY_CALENDAR, type CalendarSelection, type EventRules, type Source } from '../model';
import type { Clock, TaskStore } from '../ports';
import type { SyncRequestPublisher } from '../jobs/ports';
import type { SourceStore } from '../source/ports';
import { storedChannel, writing, type SourceDecision } from '../source/decisions';
import { closeCalendarChannel, keepCalendarListWatch, replaceCalendarChannel, type WatchDeps } from '../account/watches';
import { EMPTY_CALENDAR_STATE, syncedCalendars, watchesCalendarList, withOtherCalendars } from './state';
import type { CalendarListEntry } from './ports';

/**
 * The owner's choice of calendars and event rules: checked against the account's calendar
 * list (every problem named, nothing changed when there is one), then applied at once: new
 * calendars get channels, calendars left out have their channels stopped and their open tasks
 * cancelled, and every synced calendar is listed in full so the rules judge every event again.
 */

export const REMOVED_REASON = 'calendar no longer synced';
export const GONE_REASON = 'calendar left your calendar list, or its events can no longer be read';

/** What the owner asks for, as received (ids and event types still unchecked). */
export interface CalendarChoice {
  selection: 'primary' | 'owned' | string[];
  eventRules: Omit<EventRules, 'excludedTypes'> & { excludedTypes: string[] };
}

/** Free/busy access shows when a calendar is busy, never what its events are: nothing to make tasks of. */
export function readable(entry: CalendarListEntry): boolean {
  return entry.accessRole !== 'freeBusyReader';
}

/** Every problem with a choice, each naming what it is about; empty when it can be applied. */
export function choiceProblems(choice: CalendarChoice, list: readonly CalendarListEntry[]): string[] {
  const problems: string[] = [];
  if (Array.isArray(choice.selection)) {
    if (choice.selection.length > MAX_SELECTED_CALENDARS) problems.push(`at most ${MAX_SELECTED_CALENDARS} calendars can be chosen (got ${choice.selection.length})`);
    for (const id of choice.selection) {
      const entry = id === PRIMARY_CALENDAR ? list.find((e) => e.primary) : list.find((e) => e.id === id);
      if (entry === undefined) problems.push(`calendar ${id}: not in the account's calendar list`);
      else if (!readable(entry)) problems.push(`calendar ${id}: free/busy access only, its events cannot be read`);
    }
  }
  for (const type of choice.eventRules.excludedTypes) {
    if (!(EXCLUDABLE_EVENT_TYPES as readonly string[]).includes(type)) problems.push(`event type ${type}: unknown (one of ${EXCLUDABLE_EVENT_TYPES.join(', ')})`);
  }
  return problems;
}

/** The selection as stored: the primary calendar under its key, no repeats. */
export function normalizedSelection(selection: CalendarChoice['selection'], list: readonly CalendarListEntry[]): CalendarSelection {
  if (!Array.isArray(selection)) return selection;
  const primaryId = list.find((e) => e.primary)?.id;
  return [...new Set(selection.map((id) => (id === primaryId ? PRIMARY_CALENDAR : id)))];
}

/** Under `owned`, every calendar the account owns besides the primary one. */
export function ownedCalendars(list: readonly CalendarListEntry[]): string[] {
  return list.filter((e) => e.accessRole === 'owner' && !e.primary).map((e) => e.id);
}

/**
 * The choice written: the selection and rules, an entry for each synced calendar other than the
 * primary one (a new one with no channel yet, so renewal finds it too), the others' entries
 * gone; every synced calendar's token cleared, so its next pass lists it in full under the
 * rules. Returns the calendars that stopped syncing, with their channels, and the new ones.
 */
export function calendarsChosen(selection: CalendarSelection, eventRules: EventRules, owned: readonly string[], relist = true): SourceDecision<{ source: Source; removed: { calendarId: string; channel: ReturnType<typeof storedChannel> }[]; added: string[] }> {
  return (source, derive) => {
    const before = syncedCalendars(source);
    const others = selection === 'owned' ? [...owned] : selection === 'primary' ? [] : selection.filter((id) => id !== PRIMARY_CALENDAR);
    const after = syncedCalendars({ calendarSelection: selection, calendars: Object.fromEntries(others.map((id) => [id, EMPTY_CALENDAR_STATE])) });
    const tokens = relist ? { syncToken: null } : {};
    const calendars = Object.fromEntries(others.map((id) => [id, { ...(source.calendars[id] ?? EMPTY_CALENDAR_STATE), ...tokens }]));
    const removed = before.filter((id) => !after.includes(id)).map((calendarId) => ({ calendarId, channel: storedChannel(source, calendarId) }));
    const primaryChange = removed.some((r) => r.calendarId === PRIMARY_CALENDAR) ? { calendarChannelId: null, calendarResourceId: null, calendarChannelExpiration: null } : {};
    const { patch, result } = writing(source, { calendarSelection: selection, eventRules, ...withOtherCalendars(calendars, { calendarSelection: selection, calendarListChannel: source.calendarListChannel }), ...(relist && { calendarSyncToken: null }), ...primaryChange }, derive);
    return { patch, result: { source: result, removed, added: after.filter((id) => !before.includes(id)) } };
  };
}

export interface ChoiceDeps {
  sources: SourceStore;
  tasks: TaskStore;
  publisher: SyncRequestPublisher;
  watchDeps: WatchDeps;
  clock: Clock;
}

/** Applies a checked choice: the write, then channels opened and stopped, tasks cancelled, a full listing requested. */
export async function applyCalendarChoice(deps: ChoiceDeps, source: Source, selection: CalendarSelection, eventRules: EventRules, list: readonly CalendarListEntry[]): Promise<Source> {
  const chosen = await deps.sources.transition(source.id, deps.clock.now(), calendarsChosen(selection, eventRules, ownedCalendars(list)));
  for (const { calendarId, channel } of chosen.removed) await stopSyncing(deps, chosen.source, calendarId, channel, REMOVED_REASON);
  for (const calendarId of chosen.added) {
    // A channel that cannot be opened now is opened by the next renewal (the source shows it missing).
    await replaceCalendarChannel(deps.watchDeps, source.id, calendarId).catch(() => undefined);
  }
  await keepCalendarListWatch(deps.watchDeps, source.id).catch(() => undefined);
  await deps.publisher.publish({ kind: 'sync', sourceId: source.id, trigger: 'manual', calendar: true, gmail: false });
  return (await deps.sources.get(source.id)) ?? chosen.source;
}

/** A calendar no longer synced: its channel stopped, its open tasks cancelled with `reason` (never deleted). */
export async function stopSyncing(deps: Pick<ChoiceDeps, 'tasks' | 'watchDeps' | 'clock'>, source: Source, calendarId: string, channel: ReturnType<typeof storedChannel>, reason: string): Promise<number> {
  // Access to the calendar may be gone already: its channel then delivers nothing anyway.
  if (channel !== null) await closeCalendarChannel(deps.watchDeps, source, channel).catch(() => undefined);
  const open = (await deps.tasks.listOpen(source.userId, source.id, 'calendar')).filter((t) => (t.calendarId ?? PRIMARY_CALENDAR) === calendarId);
  const updates = open.map((t) => ({ sourceId: source.id, origin: 'calendar' as const, externalId: t.externalId, calendarId, reason }));
  return deps.tasks.setStatusIfExists(source.userId, updates, 'cancelled', deps.clock.now());
}

/**
 * The account's calendar list as it is now, applied to a source whose choice can change with
 * it (`watchesCalendarList`): a calendar gone from the list, or readable no longer (free/busy access),
 * stops syncing (channel stopped, open tasks cancelled with `GONE_REASON`); under `owned`, an
 * owned calendar not synced yet starts. The other calendars keep their tokens.
 */
export async function reconcileCalendarList(deps: ChoiceDeps, source: Source): Promise<{ removed: string[]; added: string[] }> {
  if (!watchesCalendarList(source)) return { removed: [], added: [] };
  const list = await (await deps.watchDeps.google.calendar(source)).listCalendars();
  const readableIds = new Set(list.filter(readable).map((e) => e.id));
  const others = syncedCalendars(source).filter((id) => id !== PRIMARY_CALENDAR);
  const gone = others.filter((id) => !readableIds.has(id));
  const owned = ownedCalendars(list);
  const fresh = source.calendarSelection === 'owned' ? owned.filter((id) => !others.includes(id)) : [];
  if (gone.length === 0 && fresh.length === 0) return { removed: [], added: [] };
  const kept = Array.isArray(source.calendarSelection) ? source.calendarSelection.filter((id) => !gone.includes(id)) : source.calendarSelection;
  const selection = Array.isArray(kept) && kept.length === 0 ? PRIMARY_CALENDAR : kept;
  const chosen = await deps.sources.transition(source.id, deps.clock.now(), calendarsChosen(selection, source.eventRules, owned, false));
  for (const { calendarId, channel } of chosen.removed) await stopSyncing(deps, chosen.source, calendarId, channel, GONE_REASON);
  for (const calendarId of chosen.added) await replaceCalendarChannel(deps.watchDeps, source.id, calendarId).catch(() => undefined);
  // A choice left with only the primary calendar needs the list's channel no more.
  await keepCalendarListWatch(deps.watchDeps, source.id).catch(() => undefined);
  if (chosen.added.length > 0) await deps.publisher.publish({ kind: 'sync', sourceId: source.id, trigger: 'manual', calendar: true, gmail: false });
  return { removed: chosen.removed.map((r) => r.calendarId), added: chosen.added };
}

/**
 * The source's calendar list checked again, when its channel pushes and after each renewal
 * round; a Google refusal leaves it for the next push or round.
 */
export async function reconcileSourceCalendars(deps: ChoiceDeps, sourceId: string): Promise<{ removed: string[]; added: string[] } | null> {
  const source = await deps.sources.get(sourceId);
  if (source === null || source.status === 'disconnected') return null;
  try {
    return await reconcileCalendarList(deps, source);
  } catch (error) {
    if (isGoogleError(error)) return null;
    throw error;
  }
}
