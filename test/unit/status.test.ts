import { deriveStatus } from '../../functions/src/engine/status';

const now = new Date('2026-11-24T12:00:00Z');
const healthy = {
  disconnectReason: null,
  consecutiveErrors: 0,
  watchExpiration: new Date('2026-11-30T00:00:00Z'),
  calendarChannelExpiration: new Date('2026-11-30T00:00:00Z'),
  polling: false,
};

describe('deriveStatus', () => {
  it.each([
    ['a live watch and no errors', healthy, 'active'],
    ['a disconnect reason', { ...healthy, disconnectReason: 'revoked' }, 'disconnected'],
    ['three errors in a row', { ...healthy, consecutiveErrors: 3 }, 'degraded'],
    ['two errors in a row', { ...healthy, consecutiveErrors: 2 }, 'active'],
    ['no watch', { ...healthy, watchExpiration: null }, 'degraded'],
    ['a watch expiring exactly now', { ...healthy, watchExpiration: now }, 'degraded'],
    ['polling', { ...healthy, polling: true }, 'degraded'],
    ['no calendar channel', { ...healthy, calendarChannelExpiration: null }, 'degraded'],
    ['a calendar channel expiring exactly now', { ...healthy, calendarChannelExpiration: now }, 'degraded'],
    ['a calendar channel expiring in a second', { ...healthy, calendarChannelExpiration: new Date(now.getTime() + 1000) }, 'active'],
    ['revoked while erroring', { ...healthy, disconnectReason: 'revoked', consecutiveErrors: 9 }, 'disconnected'],
  ])('%s → %s', (_, source, status) => {
    const derived = deriveStatus(source, now);
    expect(derived.status).toBe(status);
    expect(derived.statusReason === null).toBe(status === 'active');
  });
});
