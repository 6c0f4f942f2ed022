import type { SourceData, Task } from '../../functions/src/engine/model';

export function sourceData(overrides: Partial<SourceData> = {}): SourceData {
  const now = new Date('2026-11-24T10:00:00Z');
  return {
    userId: 'user-1',
    email: 'ada@example.com',
    status: 'active',
    statusReason: null,
    lastSyncAt: null,
    lastPushAt: null,
    lastCheckAt: null,
    polling: false,
    consecutiveErrors: 0,
    disconnectReason: null,
    missedPushAt: null,
    renewalError: null,
    watchId: null,
    watchExpiration: null,
    historyId: '1000',
    calendarChannelId: null,
    calendarResourceId: null,
    calendarChannelExpiration: null,
    calendarSyncToken: null,
    pending: { gmail: null, calendar: false },
    lease: null,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
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
