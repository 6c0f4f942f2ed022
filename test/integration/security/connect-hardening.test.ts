import { sourceIdFor } from '../../../functions/src/engine/account/connect';
import { confirmLink, linkFrom } from '../../../scripts/lib/connect-client';
import { asUser, idTokenFor, walkConnect } from '../../support/connect';
import { startEngineStack, type EngineStack } from '../../support/engine-stack';

/**
 * The connect flow's third review: where a flow may start from, a decline or a second start
 * that must not end someone's flow, the sources a caller may list, and two confirms racing.
 * (The cross-site form post itself, as a browser sends it, is in test/browser.)
 */

let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack({ env: { CONNECT_ALLOWED_ORIGINS: 'https://tasks.example.com' } });
});
afterAll(() => stack.close());

/** A browser's cookie jar for the connect function: one value per cookie name. */
type Jar = Map<string, string>;
const header = (jar: Jar) => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

async function start(userId: string, email: string, jar: Jar, headers: Record<string, string> = {}): Promise<Response> {
  const form = new URLSearchParams({ idToken: await idTokenFor(stack, userId), loginHint: email });
  const response = await fetch(`${stack.functionUrl('connect')}/start`, { method: 'POST', body: form, redirect: 'manual', headers });
  const [pair] = (response.headers.get('set-cookie') ?? '').split(';');
  if (pair) jar.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
  return response;
}

/** Google's consent (the sandbox approves the named account) → the callback URL with state and code. */
async function consent(started: Response): Promise<string> {
  const answer = await fetch(started.headers.get('location')!, { redirect: 'manual' });
  expect(answer.status).toBe(302);
  return answer.headers.get('location')!;
}

const callback = (url: string, jar: Jar) => fetch(url, { redirect: 'manual', headers: { Cookie: header(jar) } });

describe('connect hardening', () => {
  it('starts only from an allowed origin, or from a caller that is no browser', async () => {
    await stack.admin.createAccount('origin@example.com');
    const attempt = async (headers: Record<string, string>) => (await start('user-origin', 'origin@example.com', new Map(), headers)).status;
    expect(await attempt({ Origin: 'https://evil.example' })).toBe(403);
    expect(await attempt({ Origin: 'null' })).toBe(403);
    expect(await attempt({ 'Sec-Fetch-Site': 'cross-site' })).toBe(403);
    expect(await attempt({ 'Sec-Fetch-Site': 'same-site' })).toBe(403);
    expect(await attempt({ Origin: 'https://tasks.example.com', 'Sec-Fetch-Site': 'cross-site' })).toBe(303);
    expect(await attempt({})).toBe(303);
  });

  it("a decline from another browser does not spend the flow's state", async () => {
    await stack.admin.createAccount('decline@example.com');
    const jar: Jar = new Map();
    const callbackUrl = await consent(await start('user-decline', 'decline@example.com', jar));
    const state = new URL(callbackUrl).searchParams.get('state')!;
    const forged = await fetch(`${stack.functionUrl('connectCallback')}/callback?state=${state}&error=access_denied`, { redirect: 'manual' });
    expect(forged.headers.get('location')).toMatch(/status=denied$/);
    const genuine = await callback(callbackUrl, jar);
    expect(genuine.status).toBe(302);
    expect(linkFrom(genuine.headers.get('location')!)).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it('a second start in the same browser leaves the first flow working', async () => {
    await stack.admin.createAccount('twice@example.com');
    const jar: Jar = new Map();
    const first = await start('user-twice', 'twice@example.com', jar);
    const second = await start('user-twice', 'twice@example.com', jar);
    expect(jar.size).toBe(2);
    const [firstCallback, secondCallback] = [await consent(first), await consent(second)];
    for (const url of [firstCallback, secondCallback]) {
      const answer = await callback(url, jar);
      expect(answer.status).toBe(302);
      expect(linkFrom(answer.headers.get('location')!)).not.toBeNull();
    }
  });

  it('two confirms racing for one user and mailbox both succeed, with one source', async () => {
    const email = 'race.confirm@example.com';
    await stack.admin.createAccount(email);
    const links = await Promise.all([1, 2].map(async () => linkFrom((await walkConnect(stack, 'user-race', email, { confirm: false })).location!)!));
    const token = await idTokenFor(stack, 'user-race');
    const answers = await Promise.all(links.map((link) => confirmLink(stack.functionUrl('connect'), token, link)));
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(answers.map((a) => a.body.sourceId)).toEqual([sourceIdFor('user-race', email), sourceIdFor('user-race', email)]);
    expect((await stack.services.sources.findByEmail(email)).map((s) => s.userId)).toEqual(['user-race']);
  });

  it('lists other users\' sources only on mailboxes the caller still holds; mailboxes match without case', async () => {
    const shared = 'held.box@example.com';
    await stack.admin.createAccount(shared);
    await walkConnect(stack, 'user-held', shared);
    await walkConnect(stack, 'user-left', shared);
    const left = sourceIdFor('user-left', shared);
    expect((await asUser(stack, 'user-left', 'disconnect', { method: 'POST', body: { sourceId: left } })).status).toBe(200);
    const listed = (await (await asUser(stack, 'user-left', 'sources')).json()) as { sources: { sourceId: string; mine: boolean }[] };
    expect(listed.sources).toEqual([expect.objectContaining({ sourceId: left, mine: true })]);
    const held = (await (await asUser(stack, 'user-held', 'sources')).json()) as { sources: { sourceId: string }[] };
    expect(held.sources.map((s) => s.sourceId).sort()).toEqual([left, sourceIdFor('user-held', shared)].sort());
    expect((await stack.services.sources.findByEmail('Held.Box@Example.COM')).map((s) => s.userId).sort()).toEqual(['user-held', 'user-left']);
  });
});
