import { connectAndWatch, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { createPullSubscription, pullAll } from '../../support/pubsub';
import { waitFor } from '../../support/wait';

/**
 * calendarPush against odd channel ids, replays of a captured notification, forged message
 * numbers and bodies: a 4xx or an ignored 200, never a 5xx; a replay changes nothing and no
 * number silences the channel.
 */

let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack();
});
afterAll(() => stack.close());

const push = (headers: Record<string, string>, body?: string) => fetch(stack.functionUrl('calendarPush'), { method: 'POST', headers, ...(body !== undefined && { body }) });

async function liveChannel(sourceId: string, email: string) {
  const source = await connectAndWatch(stack, sourceId, email, `user-${sourceId}`);
  const truth = (await stack.admin.channels()).channels.find((c) => c.id === source.calendarChannelId)!;
  await waitFor(async () => (await stack.services.sources.get(sourceId))!.lastPushAt !== null);
  await stack.settled(sourceId);
  return { id: truth.id, resourceId: truth.resourceId, token: truth.token! };
}

const headersFor = (channel: { id: string; resourceId: string; token: string }, state: string, number: number) => ({
  'X-Goog-Channel-ID': channel.id,
  'X-Goog-Resource-ID': channel.resourceId,
  'X-Goog-Resource-State': state,
  'X-Goog-Message-Number': String(number),
  'X-Goog-Channel-Token': channel.token,
});

describe('calendarPush hardening', () => {
  it.each(['a/b', '.', '..', '__x__', 'a'.repeat(64), '00000000-0000-0000-0000-00000000000g'])('answers 404 to the channel id %j', async (id) => {
    const response = await push({ 'X-Goog-Channel-ID': id, 'X-Goog-Resource-ID': 'r', 'X-Goog-Resource-State': 'exists', 'X-Goog-Message-Number': '2', 'X-Goog-Channel-Token': 't' });
    expect(response.status).toBe(404);
  });

  it('ignores a replayed sync, and a replayed message', async () => {
    const channel = await liveChannel('src-replay', 'replay@example.com');
    const probe = await createPullSubscription(`projects/${stack.projectId}/topics/sync-requests`);
    const snapshot = async () => JSON.stringify({
      channel: (await stack.db.doc(`channels/${channel.id}`).get()).data(),
      pending: (await stack.db.doc('sources/src-replay').get()).get('pending') as unknown,
    });
    const before = await snapshot();

    // The channel's own sync (number 1) again, a few days later: nothing changes.
    expect((await push(headersFor(channel, 'sync', 1))).status).toBe(200);
    expect((await push(headersFor(channel, 'sync', 7))).status).toBe(200);
    expect(await snapshot()).toBe(before);
    expect(await pullAll(probe)).toEqual([]);

    // A genuine change is accepted once; replaying its message is not.
    expect((await push(headersFor(channel, 'exists', 5))).status).toBe(200);
    await waitFor(async () => (await pullAll(probe)).length === 1);
    await stack.settled('src-replay');
    const afterGenuine = await snapshot();
    for (let i = 0; i < 3; i += 1) expect((await push(headersFor(channel, 'exists', 5))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(await pullAll(probe)).toEqual([]);
    expect(await snapshot()).toBe(afterGenuine);
  });

  it('refuses message numbers past 2^53 - 1 (they cannot be stored exactly), and the channel keeps working', async () => {
    const channel = await liveChannel('src-unsafe', 'unsafe@example.com');
    expect((await push(headersFor(channel, 'exists', 2 ** 53 + 1))).status).toBe(400);
    expect((await push({ ...headersFor(channel, 'exists', 0), 'X-Goog-Message-Number': '18446744073709551617' })).status).toBe(400);
    expect((await push(headersFor(channel, 'exists', 2))).status).toBe(200);
    await stack.settled('src-unsafe');
  });

  it('keeps a captured token from silencing the channel with a forged high message number', async () => {
    const channel = await liveChannel('src-numbers', 'numbers@example.com');
    const probe = await createPullSubscription(`projects/${stack.projectId}/topics/sync-requests`);
    const requested = async () => (await pullAll(probe)).length;
    // The largest safe number, forged with the token, is news once…
    expect((await push(headersFor(channel, 'exists', Number.MAX_SAFE_INTEGER))).status).toBe(200);
    await waitFor(async () => (await requested()) === 1);
    await stack.settled('src-numbers');
    // …and does not make the next genuine notifications look like replays.
    for (const genuine of [2, 3]) {
      expect((await push(headersFor(channel, 'exists', genuine))).status).toBe(200);
      await waitFor(async () => (await requested()) === 1);
      await stack.settled('src-numbers');
    }
    expect((await stack.db.doc(`channels/${channel.id}`).get()).exists).toBe(true);
  });

  it('refuses a body (Calendar notifications have none)', async () => {
    const channel = await liveChannel('src-body', 'body@example.com');
    const response = await push({ ...headersFor(channel, 'exists', 9), 'Content-Type': 'text/plain' }, 'x'.repeat(100_000));
    expect(response.status).toBe(413);
  });
});
