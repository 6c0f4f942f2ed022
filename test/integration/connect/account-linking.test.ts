import { sourceIdFor } from '../../../functions/src/engine/account/connect';
import { signIdToken } from '../../../sandbox/src/identity-keys';
import { confirmLink, linkFrom, startFlow } from '../../../scripts/lib/connect-client';
import { asUser, idTokenFor, walkConnect } from '../../support/connect';
import { startEngineStack, type EngineStack } from '../../support/engine-stack';

/**
 * The account-linking attack of issue 16, end to end, and the rules that stop it: a connect
 * flow completes only in the browser that started it, for the signed-in user who started it,
 * for the Google account they named, and only once the host app confirms it.
 */

const SERVER = 'backend@demo-project.iam.gserviceaccount.com';
let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack({ env: { CONNECT_SERVER_CALLERS: SERVER } });
});
afterAll(() => stack.close());

const sourcesOn = async (email: string) => (await stack.services.sources.findByEmail(email)).map((s) => s.userId).sort();

describe('account linking', () => {
  it("M cannot obtain a source on B's mailbox by forwarding the consent link: the callback needs M's browser", async () => {
    const victim = 'b.victim@example.com';
    await stack.admin.createAccount(victim);
    // M starts the flow (naming B's address) and forwards Google's consent URL to B.
    const { consentUrl } = await startFlow(stack.functionUrl('connect'), await idTokenFor(stack, 'user-m'), victim);
    // B approves in B's own browser: no cookie from M's start.
    const consent = await fetch(consentUrl, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const callbackUrl = consent.headers.get('location')!;
    const inBsBrowser = await fetch(callbackUrl, { redirect: 'manual' });
    expect(inBsBrowser.status).toBe(400);
    // Nothing reached M: no source, no secret, and the state is spent (M cannot replay B's code later).
    expect(await sourcesOn(victim)).toEqual([]);
    expect((await stack.db.doc(`sourceSecrets/${sourceIdFor('user-m', victim)}`).get()).exists).toBe(false);
    expect((await fetch(callbackUrl, { redirect: 'manual' })).status).toBe(400);
  });

  it("a cookie from another flow does not fit, and a stolen code without the PKCE verifier is refused", async () => {
    const email = 'pkce@example.com';
    await stack.admin.createAccount(email);
    const mine = await startFlow(stack.functionUrl('connect'), await idTokenFor(stack, 'user-p'), email);
    const other = await startFlow(stack.functionUrl('connect'), await idTokenFor(stack, 'user-p'), email);
    const consent = await fetch(mine.consentUrl, { redirect: 'manual' });
    const withWrongCookie = await fetch(consent.headers.get('location')!, { redirect: 'manual', headers: { Cookie: other.cookie! } });
    expect(withWrongCookie.status).toBe(400);
    // The code itself is useless without the verifier the server kept.
    const code = new URL(consent.headers.get('location')!).searchParams.get('code')!;
    const stolen = await fetch(`${stack.sandbox.url}/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: stack.config.oauth.clientId, client_secret: stack.config.oauth.clientSecret ?? '', redirect_uri: stack.config.connect.redirectUrl }),
    });
    expect(stolen.status).toBe(400);
    expect(await sourcesOn(email)).toEqual([]);
  });

  it('refuses a consent by a different Google account than the loginHint named', async () => {
    const [named, other] = ['named@example.com', 'other.account@example.com'];
    await stack.admin.createAccount(named);
    await stack.admin.createAccount(other);
    const walk = await walkConnect(stack, 'user-hint', named, { googleAccount: other });
    expect(walk.callback.status).toBe(400);
    expect(await walk.callback.text()).toMatch(/different account/);
    expect(await sourcesOn(other)).toEqual([]);
    expect(await sourcesOn(named)).toEqual([]);
  });

  it('stages the grant: nothing exists until the signed-in user who started confirms, after seeing the address', async () => {
    const email = 'staged@example.com';
    await stack.admin.createAccount(email);
    const walk = await walkConnect(stack, 'user-s', email, { confirm: false });
    expect(walk.callback.status).toBe(302);
    const link = linkFrom(walk.location!)!;
    // In the fragment: no server, log or Referer sees it.
    expect(new URL(walk.location!).search).toBe('');
    expect(walk.location).not.toContain(email);
    expect(await sourcesOn(email)).toEqual([]);

    expect((await asUser(stack, 'user-s', `link?link=${link}`)).status).toBe(405);
    expect((await asUser(stack, 'user-s', 'link', { method: 'POST', body: { link } })).status).toBe(200);
    expect(await (await asUser(stack, 'user-s', 'link', { method: 'POST', body: { link } })).json()).toEqual({ email });
    // Another signed-in user cannot see or take it.
    expect((await asUser(stack, 'user-intruder', 'link', { method: 'POST', body: { link } })).status).toBe(404);
    expect((await confirmLink(stack.functionUrl('connect'), await idTokenFor(stack, 'user-intruder'), link)).status).toBe(404);
    expect(await sourcesOn(email)).toEqual([]);

    const confirmed = await confirmLink(stack.functionUrl('connect'), await idTokenFor(stack, 'user-s'), link);
    expect(confirmed).toMatchObject({ status: 200, body: { sourceId: sourceIdFor('user-s', email), email } });
    expect(await sourcesOn(email)).toEqual(['user-s']);
    // Single use.
    expect((await confirmLink(stack.functionUrl('connect'), await idTokenFor(stack, 'user-s'), link)).status).toBe(404);
  });

  it.each([
    ['no token', () => Promise.resolve(null)],
    ['a token signed by an unpublished key', async () => signIdToken(stack.sandbox.url, { claims: claims('user-x'), foreignKey: true })],
    ['an expired token', async () => signIdToken(stack.sandbox.url, { claims: { ...claims('user-x'), iat: now() - 7200, exp: now() - 3600 } })],
    ['a token for another project', async () => signIdToken(stack.sandbox.url, { claims: { ...claims('user-x'), aud: 'other-project' } })],
    ['a token from another issuer', async () => signIdToken(stack.sandbox.url, { claims: { ...claims('user-x'), iss: 'https://accounts.google.com' } })],
    ['an unsigned token (no emulator configured)', () => Promise.resolve(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims('user-x'))}.`)],
  ])('refuses to start a flow with %s', async (_, token) => {
    const idToken = await token();
    const response = await fetch(`${stack.functionUrl('connect')}/start`, { method: 'POST', body: new URLSearchParams(idToken === null ? {} : { idToken }), redirect: 'manual' });
    expect(response.status).toBe(401);
    expect(response.headers.get('set-cookie')).toBeNull();
  });

  it('sets the binding cookie HttpOnly, Secure, SameSite=Lax, and never puts the hint in a URL we serve', async () => {
    await stack.admin.createAccount('cookie@example.com');
    const response = await fetch(`${stack.functionUrl('connect')}/start`, {
      method: 'POST',
      body: new URLSearchParams({ idToken: await idTokenFor(stack, 'user-c'), loginHint: 'cookie@example.com' }),
      redirect: 'manual',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('set-cookie')).toMatch(/^__Host-connect-[0-9a-f]{16}=[A-Za-z0-9_-]{43}; Max-Age=600; Path=\/; Secure; HttpOnly; SameSite=Lax$/);
    expect((await fetch(`${stack.functionUrl('connect')}/start?loginHint=cookie%40example.com`, { redirect: 'manual' })).status).toBe(405);
  });

  it("disconnect needs the owner: another user gets 404, the mailbox's owner may end someone else's source on it", async () => {
    const shared = 'shared.box@example.com';
    await stack.admin.createAccount(shared);
    await walkConnect(stack, 'user-owner', shared);
    await walkConnect(stack, 'user-guest', shared);
    const guestSource = sourceIdFor('user-guest', shared);

    // The old API took a bare source id: now a stranger's request changes nothing.
    expect((await asUser(stack, 'user-stranger', 'disconnect', { method: 'POST', body: { sourceId: guestSource } })).status).toBe(404);
    expect((await fetch(`${stack.functionUrl('connect')}/disconnect`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ sourceId: guestSource }) })).status).toBe(401);
    expect((await asUser(stack, 'user-stranger', 'disconnect', { method: 'POST', body: { sourceId: guestSource, userId: 'user-guest' } })).status).toBe(403);
    expect((await stack.services.sources.get(guestSource))!.status).toBe('active');

    // The mailbox's owner lists every source on it, then ends the other one.
    const listed = (await (await asUser(stack, 'user-owner', 'sources')).json()) as { sources: { sourceId: string; mine: boolean; email: string }[] };
    expect(listed.sources.map((s) => [s.sourceId, s.mine]).sort()).toEqual([[guestSource, false], [sourceIdFor('user-owner', shared), true]].sort());
    expect(JSON.stringify(listed)).not.toContain('user-guest');
    const ended = await asUser(stack, 'user-owner', 'disconnect', { method: 'POST', body: { sourceId: guestSource } });
    expect(ended.status).toBe(200);
    // Another live source (the owner's) still relies on the grant: not revoked yet.
    expect(await ended.json()).toMatchObject({ status: 'disconnected', revoked: false });
    const own = await asUser(stack, 'user-owner', 'disconnect', { method: 'POST', body: { sourceId: sourceIdFor('user-owner', shared) } });
    expect(await own.json()).toMatchObject({ status: 'disconnected', revoked: true });
  });

  it('a server caller with an allowed Google identity names the owner; anyone else is refused', async () => {
    const email = 'server.managed@example.com';
    await stack.admin.createAccount(email);
    await walkConnect(stack, 'user-managed', email);
    const sourceId = sourceIdFor('user-managed', email);
    const serverToken = (who: string) =>
      signIdToken(stack.sandbox.url, { claims: { iss: 'https://accounts.google.com', aud: stack.config.identity.connectUrl, sub: '1', email: who, email_verified: true, iat: now(), exp: now() + 600 } });
    const call = async (who: string, body: unknown) =>
      fetch(`${stack.functionUrl('connect')}/disconnect`, { method: 'POST', headers: { Authorization: `Bearer ${await serverToken(who)}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    expect((await call('intruder@evil.example', { sourceId, userId: 'user-managed' })).status).toBe(401);
    expect((await call(SERVER, { sourceId })).status).toBe(403);
    expect((await call(SERVER, { sourceId, userId: 'user-other' })).status).toBe(404);
    expect((await call(SERVER, { sourceId, userId: 'user-managed' })).status).toBe(200);
    expect((await stack.services.sources.get(sourceId))!.status).toBe('disconnected');
  });
});

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
function claims(uid: string): Record<string, unknown> {
  return { iss: `https://securetoken.google.com/${stack.projectId}`, aud: stack.projectId, sub: uid, iat: now(), exp: now() + 3600 };
}
