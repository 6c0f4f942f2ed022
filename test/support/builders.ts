import { newSource } from '../../functions/src/engine/account/connect';
import type { SourceData, Task } from '../../functions/src/engine/model';
import type { CalendarEvent } from '../../functions/src/engine/calendar/ports';
import type { GmailHistoryRecord } from '../../functions/src/engine/gmail/ports';

/** A connected source with a Gmail cursor, as most store tests want it. */
export function sourceData(overrides: Partial<SourceData> = {}): SourceData {
  const now = new Date('2026-11-24T10:00:00Z');
  return { ...newSource('user-1', 'ada@example.com', now), status: 'active', statusReason: null, polling: false, historyId: '1000', ...overrides };
}

export function gmailTask(sourceId: string, messageId: string, overrides: Partial<Task> = {}): Task {
  return {
    sourceId,
    origin: 'gmail',
    externalId: messageId,
    title: `Subject ${messageId}`,
    dueAt: null,
    link: `https://mail.google.com/mail/#all/${messageId}`,
    status: 'open',
    externalUpdatedAt: new Date('2026-11-24T10:00:00Z'),
    updatedAt: new Date('2026-11-24T10:00:00Z'),
    ...overrides,
  };
}

/** A confirmed Calendar event as the adapter reports it; callers set its times and what they test. */
export function calendarEvent(overrides: Partial<CalendarEvent> & Pick<CalendarEvent, 'start' | 'updated'>): CalendarEvent {
  return { id: 'e1', status: 'confirmed', summary: 's', htmlLink: null, sequence: 0, declinedBySelf: false, eventType: 'default', allDay: false, mine: true, ...overrides };
}

/** A history record with only the given changes. */
export function historyRecord(id: string, parts: Partial<GmailHistoryRecord>): GmailHistoryRecord {
  return { id, messagesAdded: [], messagesDeleted: [], labelsAdded: [], labelsRemoved: [], ...parts };
}
