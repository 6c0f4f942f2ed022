import { parseSyncRequest } from '../../functions/src/entry/sync-worker';
import { messageOf, requestOf, type SyncRequest } from '../../functions/src/engine/jobs/ports';

const envelope = (message: unknown) => ({ message: { data: Buffer.from(JSON.stringify(message)).toString('base64') } });

describe('sync requests: the messages published so far (dead-letter replays re-publish them) still parse', () => {
  it.each<[string, unknown, SyncRequest]>([
    ['a Calendar push', { sourceId: 's1', calendar: false, trigger: 'push' }, { kind: 'sync', sourceId: 's1', trigger: 'push', calendar: false, gmail: false }],
    ['a fallback poll', { sourceId: 's1', trigger: 'poll', gmail: true, calendar: true, pageSize: 5 }, { kind: 'sync', sourceId: 's1', trigger: 'poll', calendar: true, gmail: true, pageSize: 5 }],
    ['a reconnect catch-up', { sourceId: 's1', trigger: 'manual', calendar: true, gmail: true }, { kind: 'sync', sourceId: 's1', trigger: 'manual', calendar: true, gmail: true }],
    ['a renewal', { sourceId: 's1', trigger: 'renewal', calendar: false, renew: true }, { kind: 'renew', sourceId: 's1' }],
    ['an audit', { sourceId: 's1', trigger: 'manual', calendar: false, audit: true }, { kind: 'audit', sourceId: 's1' }],
    ['a sync with the optional flags off', { sourceId: 's1', trigger: 'manual', calendar: true, gmail: false, renew: false, audit: false }, { kind: 'sync', sourceId: 's1', trigger: 'manual', calendar: true, gmail: false }],
  ])('%s', (_, message, expected) => {
    expect(parseSyncRequest(envelope(message))).toEqual(expected);
  });

  it('every request is published as the message shape older workers read, and reads back as itself', () => {
    const requests: SyncRequest[] = [
      { kind: 'sync', sourceId: 's1', trigger: 'push', calendar: false, gmail: false },
      { kind: 'sync', sourceId: 's1', trigger: 'poll', calendar: true, gmail: true, pageSize: 5 },
      { kind: 'renew', sourceId: 's1' },
      { kind: 'audit', sourceId: 's1' },
      { kind: 'calendarList', sourceId: 's1' },
    ];
    expect(requests.map(messageOf)).toEqual([
      { sourceId: 's1', trigger: 'push', calendar: false },
      { sourceId: 's1', trigger: 'poll', calendar: true, gmail: true, pageSize: 5 },
      { sourceId: 's1', trigger: 'renewal', calendar: false, renew: true },
      { sourceId: 's1', trigger: 'manual', calendar: false, audit: true },
      { sourceId: 's1', trigger: 'push', calendar: false, calendarList: true },
    ]);
    expect(requests.map((r) => requestOf(messageOf(r)))).toEqual(requests);
  });

  it.each([
    ['no trigger', { sourceId: 's1', calendar: true }],
    ['a source id with a slash', { sourceId: 'a/b', trigger: 'poll', calendar: true }],
    ['a page size out of range', { sourceId: 's1', trigger: 'poll', calendar: true, pageSize: 0 }],
  ])('rejects %s', (_, message) => {
    expect(parseSyncRequest(envelope(message))).toBeNull();
  });
});
