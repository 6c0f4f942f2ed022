import { walkConnect } from '../../support/connect';
import { registerWatch, startEngineStack, type EngineStack } from '../../support/engine-stack';
import { waitFor } from '../../support/wait';

/**
 * Thousands of malformed inputs at every HTTP and CloudEvent entry point: each must get a
 * 2xx-and-ignore or a 4xx, never a 5xx, and Firestore must be unchanged afterwards.
 * Event functions get the content types Pub/Sub and Eventarc send (JSON, CloudEvents JSON):
 * the Functions Framework itself answers 500 to other types before our code runs.
 */

let stack: EngineStack;
let seed = 20261124;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const b64 = (value: string) => Buffer.from(value).toString('base64');
/** For a query string: a lone surrogate has no UTF-8, so it goes as the bytes that would have encoded one (%ED%A0%80). */
const uri = (value: unknown) => {
  try {
    return encodeURIComponent(String(value));
  } catch {
    return `%ED%A0%80${encodeURIComponent(String(value).replace(/[\ud800-\udfff]/g, ''))}`;
  }
};

beforeAll(async () => {
  stack = await startEngineStack();
});
afterAll(() => stack.close());

function junkValue(): unknown {
  return pick<() => unknown>([
    () => null,
    () => 42,
    () => -1,
    () => '',
    () => 'x'.repeat(Math.floor(random() * 5000)),
    () => ['a', 1],
    () => ({ nested: { deeper: true } }),
    () => '../../etc/passwd',
    () => '<script>alert(1)</script>',
    () => 'a/b',
    () => '__reserved__',
    () => '..',
    () => '18446744073709551616',
    () => '\u0000\uffff',
    // Lone surrogates: valid in a JS string and in JSON, never in a Firestore id.
    () => '\ud800',
    () => 'src-\udfff',
    () => 'a\udc00\ud800b',
    () => true,
  ])();
}

function pubsubBody(): string {
  return pick<() => string>([
    () => 'not json at all',
    () => '{"message":',
    () => JSON.stringify({}),
    () => JSON.stringify({ message: junkValue() }),
    () => JSON.stringify({ message: { data: junkValue() } }),
    () => JSON.stringify({ message: { data: '%%%not-base64%%%' } }),
    () => JSON.stringify({ message: { data: b64('not json') } }),
    () => JSON.stringify({ message: { data: b64(JSON.stringify({ emailAddress: junkValue(), historyId: junkValue() })) } }),
    () => JSON.stringify({ message: { data: b64(JSON.stringify({ emailAddress: 'nobody@example.com', historyId: String(Math.floor(random() * 1e9)) })) } }),
    () => JSON.stringify({ message: { data: b64(JSON.stringify({ sourceId: junkValue(), calendar: junkValue(), trigger: junkValue() })) } }),
    () => JSON.stringify({ message: { data: b64(JSON.stringify({ sourceId: 'no-such-source', calendar: true, trigger: 'push' })) } }),
    () => JSON.stringify({ message: { data: b64('x'.repeat(200_000)) } }),
    () => 'x'.repeat(12_000_000),
  ])();
}

function calendarHeaders(channel: { id: string; resourceId: string }): Record<string, string> {
  const headers: Record<string, string> = {
    'X-Goog-Channel-ID': pick([channel.id, 'unknown-channel', '', 'x'.repeat(100), String(junkValue()), 'a/b', '.', '..', '__x__', '__.*__', channel.id.toUpperCase()]),
    'X-Goog-Resource-ID': pick([channel.resourceId, 'other-resource', '']),
    'X-Goog-Resource-State': pick(['sync', 'exists', 'not_exists', 'bogus', '']),
    'X-Goog-Message-Number': pick(['1', '-1', 'abc', '99999999999999999999999', '', String(2 ** 53 + 1), String(Number.MAX_SAFE_INTEGER), '18446744073709551617']),
    'X-Goog-Channel-Token': pick(['forged', '', 'x'.repeat(300), b64('token')]),
  };
  // Drop some headers entirely.
  for (const key of Object.keys(headers)) if (random() < 0.15) delete headers[key];
  return Object.fromEntries(Object.entries(headers).filter(([, v]) => /^[\x20-\x7e]*$/.test(v)));
}

async function everything(): Promise<string> {
  const dump: string[] = [];
  const walk = async (collections: FirebaseFirestore.CollectionReference[]) => {
    for (const c of collections) {
      for (const doc of await c.listDocuments()) {
        const snap = await doc.get();
        if (snap.exists) dump.push(`${doc.path}=${JSON.stringify(snap.data())}`);
        await walk(await doc.listCollections());
      }
    }
  };
  await walk(await stack.db.listCollections());
  return dump.sort().join('\n');
}

test('thousands of malformed inputs: never a 5xx, never a change in Firestore', async () => {
  // A real source with a live channel and a spent OAuth state, so forgeries have targets.
  await stack.admin.createAccount('fuzz@example.com');
  const walk = await walkConnect(stack, 'fuzz-user', 'fuzz@example.com');
  expect(walk.confirmed?.status).toBe(200);
  const source = (await stack.services.sources.listByUser('fuzz-user'))[0]!;
  expect((await registerWatch(stack, source.id)).status).toBe(200);
  await waitFor(async () => (await stack.services.sources.get(source.id))!.lastPushAt !== null);
  await stack.settled(source.id);
  const current = (await stack.services.sources.get(source.id))!;
  const channel = { id: current.calendarChannelId!, resourceId: current.calendarResourceId! };
  await new Promise((r) => setTimeout(r, 500));
  const before = await everything();

  const url = (name: Parameters<EngineStack['functionUrl']>[0]) => stack.functionUrl(name);
  const cases: (() => Promise<Response>)[] = [];
  const labels: string[] = [];
  for (let i = 0; i < 400; i += 1) {
    labels.push('gmailPush');
    cases.push(() => fetch(`${url('gmailPush')}/projects/${stack.projectId}/topics/gmail-watch`, { method: 'POST', headers: { 'Content-Type': pick(['application/json', 'application/cloudevents+json']) }, body: pubsubBody() }));
    labels.push('syncWorker');
    cases.push(() => fetch(`${url('syncWorker')}/projects/${stack.projectId}/topics/sync-requests`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: pubsubBody() }));
    labels.push('calendarPush');
    cases.push(() => fetch(url('calendarPush'), { method: pick(['POST', 'POST', 'GET', 'PUT']), headers: calendarHeaders(channel), body: null }));
    // The internal POST {sourceId} endpoints: watch registration and the scheduled Gmail tail look.
    const internal = pick(['registerWatch', 'gmailFollowUp'] as const);
    labels.push(internal);
    cases.push(() => fetch(url(internal), { method: pick(['POST', 'GET', 'DELETE']), headers: { 'Content-Type': 'application/json' }, body: pick([JSON.stringify({ sourceId: junkValue() }), '{', JSON.stringify({ sourceId: 'no-such-source' })]) }).catch(() => fetch(url(internal), { method: 'GET' })));
    labels.push('connectCallback');
    cases.push(() => fetch(`${url('connectCallback')}/callback?${pick([walk.callbackUrl.split('?')[1]!, `state=${uri(junkValue())}&code=x`, 'error=access_denied', '', `state=${'a'.repeat(20)}&code=${uri(junkValue())}`])}`, { redirect: 'manual' }));
    labels.push('connect');
    cases.push(() => fetch(`${url('connect')}/${pick(['start', 'disconnect', 'callback', 'nope', 'link', 'confirm', 'sources'])}?${pick(['', 'userId=', `userId=${'x'.repeat(300)}`, 'loginHint=not-an-email&userId=', 'link=a%2Fb'])}`, {
      method: pick(['GET', 'DELETE', 'POST']),
      headers: { Authorization: pick(['', 'Bearer ', `Bearer ${'a'.repeat(40)}.${'b'.repeat(40)}.`, `Bearer ${b64('{"alg":"none"}')}.${b64('{"sub":"fuzz-user"}')}.`, 'Basic eDp5']), 'Content-Type': pick(['application/json', 'application/x-www-form-urlencoded']) },
      body: pick([JSON.stringify({ sourceId: junkValue(), userId: junkValue(), link: junkValue() }), 'idToken=x&loginHint=y', '{']),
      redirect: 'manual',
    }).catch(() => fetch(url('connect'), { method: 'GET' })));
    labels.push('sourceStatus');
    cases.push(() => fetch(`${url('sourceStatus')}?${pick(['', 'userId=', 'userId=a%2Fb', 'userId=__x__', `userId=${uri(junkValue())}`])}`, { method: pick(['GET', 'POST', 'DELETE']), headers: { Accept: pick(['text/html', 'application/json', '*/*']) } }));
    labels.push('jobs');
    cases.push(() => fetch(url(pick(['renewWatches', 'fallbackPoll', 'pruneRetention', 'auditCompleteness'] as const)), { method: pick(['PUT', 'DELETE', 'PATCH']), body: pubsubBody().slice(0, 1000) }));
  }

  // 16 MiB bodies to calendarPush, in each content type the Functions Framework parses.
  for (const type of ['application/json', 'text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded']) {
    labels.push(`calendarPush 16 MiB ${type}`);
    cases.push(() => fetch(url('calendarPush'), { method: 'POST', headers: { ...calendarHeaders(channel), 'Content-Type': type }, body: 'x'.repeat(16 * 1024 * 1024) }));
  }

  const statuses = new Map<number, number>();
  const failures: string[] = [];
  for (let i = 0; i < cases.length; i += 25) {
    const batch = await Promise.all(cases.slice(i, i + 25).map(async (run, k) => {
      try {
        const response = await run();
        await response.arrayBuffer();
        return response.status;
      } catch (error) {
        failures.push(`case ${i + k}: ${String(error)}`);
        return 0;
      }
    }));
    batch.forEach((s, k) => {
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
      if (s >= 500 || s < 200) failures.push(`${labels[i + k]} answered ${s}`);
    });
  }
  expect(cases.length).toBeGreaterThanOrEqual(3000);
  expect([...new Set(failures)]).toEqual([]);
  const fiveHundreds = [...statuses].filter(([s]) => s >= 500 || s < 200);
  expect(fiveHundreds).toEqual([]);
  await new Promise((r) => setTimeout(r, 500));
  await stack.settled(source.id);
  expect(await everything()).toBe(before);
}, 240_000);
