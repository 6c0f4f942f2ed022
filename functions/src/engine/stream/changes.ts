import type { TaskChange } from '../../contracts/change-events';
import type { Source, Task } from '../model';

/**
 * What the change stream announces: a task's change when a host app would see a difference,
 * a source's status when its badge, reason or banner changed. A write that changes nothing a
 * consumer sees (a pass done again, a newer Google timestamp on the same content) is no event.
 */

export function taskChangeKind(stored: Task | null, incoming: Task): TaskChange['change'] | null {
  if (stored === null) return 'created';
  if (stored.status !== incoming.status) return 'status';
  const sameDue = (stored.dueAt?.getTime() ?? null) === (incoming.dueAt?.getTime() ?? null);
  if (stored.title !== incoming.title || stored.link !== incoming.link || !sameDue) return 'updated';
  return null;
}

export type StatusFields = Pick<Source, 'status' | 'statusReason' | 'polling'>;

export function statusChanged(before: StatusFields, after: StatusFields): boolean {
  return before.status !== after.status || before.statusReason !== after.statusReason || before.polling !== after.polling;
}
