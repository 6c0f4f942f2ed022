import type { EngineStack } from './engine-stack';

/** A user's Calendar tasks as stored, and a time slot inside the task window, for the calendar tests. */

export type StoredCalendarTask = { id: string; externalId: string; title: string; status: string; calendarId?: string; reason?: string };

export async function calendarTasksOf(stack: Pick<EngineStack, 'db'>, userId: string): Promise<StoredCalendarTask[]> {
  const snap = await stack.db.collection(`users/${userId}/tasks`).where('origin', '==', 'calendar').get();
  return snap.docs.map((d) => ({ id: d.id, ...(d.data() as Omit<StoredCalendarTask, 'id'>) }));
}

export async function calendarTaskOf(stack: Pick<EngineStack, 'db'>, userId: string, eventId: string): Promise<StoredCalendarTask | undefined> {
  return (await calendarTasksOf(stack, userId)).find((t) => t.externalId === eventId);
}

/** Tomorrow, for an hour or so: inside every task window the tests use. */
export function tomorrowSlot(): { start: { dateTime: string }; end: { dateTime: string } } {
  return { start: { dateTime: new Date(Date.now() + 86_400_000).toISOString() }, end: { dateTime: new Date(Date.now() + 90_000_000).toISOString() } };
}
