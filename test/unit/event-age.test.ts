import type { AddressInfo } from 'node:net';
import { cloudEvent, type CloudEvent } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { isStale, MAX_EVENT_AGE_MS } from '../../functions/src/entry/event-age';
import type { Services } from '../../functions/src/entry/services';
import { syncWorkerHandler } from '../../functions/src/entry/sync-worker';
import type { LogFields } from '../../functions/src/engine/ports';

// Publish times are wall-clock times, so the events are built around the real now.
const NOW = new Date();
const request = { sourceId: 'source-1', calendar: true, trigger: 'poll' };
const event = (ageMs: number): CloudEvent<unknown> => ({
  specversion: '1.0',
  id: 'm-1',
  source: '//pubsub.googleapis.com/projects/p/topics/sync-requests',
  type: 'google.cloud.pubsub.topic.v1.messagePublished',
  time: new Date(NOW.getTime() - ageMs).toISOString(),
  data: { message: { data: Buffer.from(JSON.stringify(request)).toString('base64'), messageId: 'm-1' } },
});

/** The parts of Services syncWorker touches, as small fakes that record what happened. */
function fakeServices() {
  const handled: string[] = [];
  const warnings: [string, LogFields | undefined][] = [];
  const services = {
    clock: { now: () => NOW },
    runner: { run: (sourceId: string) => (handled.push(sourceId), Promise.resolve('ran')) },
    logger: { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (m: string, f?: LogFields) => warnings.push([m, f]) },
  } as unknown as Services;
  return { services: () => services, handled, warnings };
}

describe('the age cut-off for Pub/Sub deliveries', () => {
  it('calls an event stale only when its publish time is known and older than the cut-off', () => {
    expect(isStale(event(MAX_EVENT_AGE_MS + 1), NOW)).toBe(true);
    expect(isStale(event(MAX_EVENT_AGE_MS - 1000), NOW)).toBe(false);
    const { time: _, ...untimed } = event(2 * MAX_EVENT_AGE_MS);
    expect(isStale(untimed, NOW)).toBe(false);
  });

  it('makes syncWorker drop (and log) a stale sync request instead of running it again', async () => {
    const fake = fakeServices();
    await syncWorkerHandler(fake.services)(event(2 * MAX_EVENT_AGE_MS));
    expect(fake.handled).toEqual([]);
    expect(fake.warnings).toEqual([['Dropping a stale sync request', { eventId: 'm-1', eventTime: event(2 * MAX_EVENT_AGE_MS).time }]]);
    await syncWorkerHandler(fake.services)(event(60_000));
    expect(fake.handled).toEqual(['source-1']);
  });

  it('gets the publish time from a raw push to the function URL, as our push subscriptions deliver', async () => {
    // The deployed push subscriptions POST Pub/Sub's own body to <function URL>/projects/P/topics/T;
    // the Functions Framework turns it into the CloudEvent the handlers read.
    const received: CloudEvent<unknown>[] = [];
    cloudEvent('pushProbe', (e: CloudEvent<unknown>) => {
      received.push(e);
    });
    const server = getTestServer('pushProbe').listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const body = { subscription: 'projects/p/subscriptions/sync-worker', deliveryAttempt: 2, message: { data: 'eyJhIjoxfQ==', messageId: '42', publishTime: '2026-11-25T11:00:00.000Z', attributes: {} } };
      const response = await fetch(`http://127.0.0.1:${port}/projects/p/topics/sync-requests`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(response.status).toBe(204);
      expect(received).toHaveLength(1);
      expect(received[0]).toMatchObject({ id: '42', time: '2026-11-25T11:00:00.000Z', type: 'google.cloud.pubsub.topic.v1.messagePublished', data: { message: { data: 'eyJhIjoxfQ==' } } });
      expect(received[0]!.source).toContain('projects/p/topics/sync-requests');
    } finally {
      server.close();
    }
  });
});
