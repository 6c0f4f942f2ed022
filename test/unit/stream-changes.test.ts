import { statusChanged, taskChangeKind } from '../../functions/src/engine/stream/changes';
import { gmailTask } from '../support/builders';

describe('what the change stream announces', () => {
  const stored = gmailTask('s1', 'm1', { dueAt: new Date('2026-12-01T10:00:00Z') });

  it('a new task is created, another status is a status change, title, link or due time an update', () => {
    expect(taskChangeKind(null, stored)).toBe('created');
    expect(taskChangeKind(stored, { ...stored, status: 'archived', title: 'changed too' })).toBe('status');
    expect(taskChangeKind(stored, { ...stored, title: 'Renamed' })).toBe('updated');
    expect(taskChangeKind(stored, { ...stored, link: null })).toBe('updated');
    expect(taskChangeKind(stored, { ...stored, dueAt: new Date('2026-12-01T11:00:00Z') })).toBe('updated');
    expect(taskChangeKind({ ...stored, dueAt: null }, stored)).toBe('updated');
  });

  it('the same content written again (a replayed pass, a newer Google time) is no event', () => {
    const later = new Date('2026-12-02T00:00:00Z');
    expect(taskChangeKind(stored, { ...stored, dueAt: new Date(stored.dueAt!.getTime()), externalUpdatedAt: later, updatedAt: later })).toBeNull();
  });

  it('a source status event follows the badge, the reason and the polling banner', () => {
    const active = { status: 'active', statusReason: null, polling: false } as const;
    expect(statusChanged(active, active)).toBe(false);
    expect(statusChanged(active, { ...active, status: 'disconnected' })).toBe(true);
    expect(statusChanged(active, { ...active, statusReason: 'why' })).toBe(true);
    expect(statusChanged(active, { ...active, polling: true })).toBe(true);
  });
});
