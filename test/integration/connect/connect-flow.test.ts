import { sourceIdFor } from '../../../functions/src/engine/account/connect';
import { decryptToken, LocalKeySealer } from '../../../functions/src/secrets/envelope';
import type { Firestore } from '@google-cloud/firestore';
import { MovableClock } from '../../support/clock';
import { startFlow } from '../../../scripts/lib/connect-client';
import { asUser, idTokenFor, walkConnect } from '../../support/connect';
import { startEngineStack, type EngineStack } from '../../support/engine-stack';
import { waitFor } from '../../support/wait';

const clock = new MovableClock();
let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack({ overrides: { clock } });
});
afterAll(() => stack.close());

const taskTitles = async (userId: string) =>
  (await stack.db.collection(`users/${userId}/tasks`).get()).docs.map((d) => (d.data() as { title: string }).title).sort();

async function everyDocument(db: Firestore): Promise<string[]> {
  const out: string[] = [];
  const walk = async (refs: FirebaseFirestore.CollectionReference[]) => {
    for (const collection of refs) {
      for (const doc of await collection.listDocuments()) {
        const snap = await doc.get();
        if (snap.exists) out.push(`${doc.path} ${JSON.stringify(snap.data())}`);
        await walk(await doc.listCollections());
      }
    }
  };
  await walk(await db.listCollections());
  return out;
}

describe('the connect flow', () => {
  it('start → consent → callback: a source with an encrypted secret and both watches; the first mail becomes a task', async () => {
    const email = 'ada.connect@example.com';
    await stack.admin.createAccount(email);
    const { callback, location, consentUrl, confirmed } = await walkConnect(stack, 'user-ada', email);
    expect(consentUrl.searchParams.get('access_type')).toBe('offline');
    expect(consentUrl.searchParams.get('prompt')).toBe('consent');
    expect(consentUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(consentUrl.searchParams.get('scope')!.split(' ').sort()).toEqual([
      'https://www.googleapis.com/auth/calendar.readonly',
      'https://www.googleapis.com/auth/gmail.metadata',
    ]);
    expect(callback.status).toBe(302);
    const sourceId = sourceIdFor('user-ada', email);
    expect(location).toMatch(/^http:\/\/127\.0\.0\.1:9\/settings#status=confirm&link=[A-Za-z0-9_-]{32}$/);
    expect(confirmed).toEqual({ status: 200, body: { sourceId, email, status: 'active' } });

    const source = (await stack.services.sources.get(sourceId))!;
    expect(source).toMatchObject({ userId: 'user-ada', email, status: 'active' });
    const truth = await stack.admin.account(email);
    expect(truth.gmailWatch).not.toBeNull();
    expect((await stack.admin.channels()).channels.map((c) => c.id)).toContain(source.calendarChannelId);
    const secret = (await stack.db.doc(`sourceSecrets/${sourceId}`).get()).data() as { refreshToken: { ciphertext: string } };
    expect(secret.refreshToken.ciphertext).toMatch(/^[A-Za-z0-9+/=]+$/);

    await new Promise((r) => setTimeout(r, 1100));
    await stack.admin.deliverMail(email, { subject: 'Welcome aboard' });
    await waitFor(async () => (await taskTitles('user-ada')).includes('Welcome aboard'));
    await stack.settled(sourceId);
  });

  it('refuses forged, reused and expired state values and stores nothing', async () => {
    const email = 'state@example.com';
    await stack.admin.createAccount(email);
    const before = (await stack.db.collection('sources').get()).size;
    const callback = (query: string) => fetch(`${stack.functionUrl('connectCallback')}/callback?${query}`, { redirect: 'manual' });

    expect((await callback('state=forged-state-value-123456&code=4%2Fwhatever')).status).toBe(400);
    expect((await callback('code=no-state')).status).toBe(400);

    const first = await walkConnect(stack, 'user-state', email);
    expect(first.callback.status).toBe(302);
    const afterFirst = (await stack.db.collection('sources').get()).size;
    expect(afterFirst).toBe(before + 1);
    const replay = await fetch(first.callbackUrl, { redirect: 'manual', headers: { Cookie: first.cookie! } });
    expect(replay.status).toBe(400);

    // Expired: the state outlives its 10 minutes before the callback comes back.
    const { consentUrl, cookie } = await startFlow(stack.functionUrl('connect'), await idTokenFor(stack, 'user-late'), email);
    const consent = await fetch(consentUrl, { redirect: 'manual' });
    clock.advance(11 * 60_000);
    const late = await fetch(consent.headers.get('location')!, { redirect: 'manual', headers: { Cookie: cookie! } });
    expect(late.status).toBe(400);
    expect((await stack.db.collection('sources').get()).size).toBe(afterFirst);
    expect(await stack.services.sources.get(sourceIdFor('user-late', email))).toBeNull();
    expect((await stack.db.doc(`sourceSecrets/${sourceIdFor('user-late', email)}`).get()).exists).toBe(false);
  });

  it('one user with two accounts and one account with two users each sync without crossing data', async () => {
    const [work, home] = ['work@example.com', 'home@example.com'];
    await stack.admin.createAccount(work);
    await stack.admin.createAccount(home);
    await walkConnect(stack, 'user-multi', work);
    await walkConnect(stack, 'user-multi', home);
    await walkConnect(stack, 'user-partner', home);
    // Connecting the same account again updates the source instead of adding one.
    await walkConnect(stack, 'user-multi', work);
    const multi = await stack.services.sources.listByUser('user-multi');
    expect(multi.map((s) => s.email).sort()).toEqual([home, work]);

    await new Promise((r) => setTimeout(r, 1100));
    await stack.admin.deliverMail(work, { subject: 'for work' });
    await stack.admin.deliverMail(home, { subject: 'for home' });
    await waitFor(async () => (await taskTitles('user-multi')).length === 2 && (await taskTitles('user-partner')).length === 1);
    for (const s of [...multi, ...(await stack.services.sources.listByUser('user-partner'))]) await stack.settled(s.id);
    expect(await taskTitles('user-multi')).toEqual(['for home', 'for work']);
    expect(await taskTitles('user-partner')).toEqual(['for home']);
    const partnerTasks = (await stack.db.collection('users/user-partner/tasks').get()).docs.map((d) => d.id);
    expect(partnerTasks.every((id) => id.startsWith(`${sourceIdFor('user-partner', home)}:`))).toBe(true);
  });

  it('disconnect stops both watches and revokes the grant at Google, deletes the secret, keeps the tasks, and makes no further calls', async () => {
    const email = 'leaving@example.com';
    await stack.admin.createAccount(email);
    await walkConnect(stack, 'user-leaving', email);
    const sourceId = sourceIdFor('user-leaving', email);
    await new Promise((r) => setTimeout(r, 1100));
    await stack.admin.deliverMail(email, { subject: 'keep me' });
    await waitFor(async () => (await taskTitles('user-leaving')).length === 1);
    await stack.settled(sourceId);
    const channelId = (await stack.services.sources.get(sourceId))!.calendarChannelId;

    const [issued] = (await stack.admin.refreshTokens(email)).refreshTokens.slice(-1);
    const response = await asUser(stack, 'user-leaving', 'disconnect', { method: 'POST', body: { sourceId } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ sourceId, status: 'disconnected', revoked: true });
    expect(stack.sandbox.world.oauth.isRefreshTokenLive(issued!)).toBe(false);
    expect((await stack.admin.account(email)).gmailWatch).toBeNull();
    expect((await stack.admin.channels()).channels.map((c) => c.id)).not.toContain(channelId);
    expect((await stack.db.doc(`sourceSecrets/${sourceId}`).get()).exists).toBe(false);
    expect(await stack.services.channels.get(channelId!)).toBeNull();
    expect(await stack.services.sources.get(sourceId)).toMatchObject({ status: 'disconnected', statusReason: 'Disconnected by the user' });
    expect(await taskTitles('user-leaving')).toEqual(['keep me']);

    await stack.admin.resetStats();
    const later = await stack.admin.deliverMail(email, { subject: 'after disconnect' });
    await stack.services.runner.handle(sourceId, { gmail: later.historyId, calendar: true }, { trigger: 'manual' });
    expect((await stack.admin.stats()).calls[email] ?? {}).toEqual({});
  });

  it('stores only ciphertext: it decrypts with the right key only, and no log line or document holds the plaintext', async () => {
    const email = 'secret@example.com';
    await stack.admin.createAccount(email);
    await walkConnect(stack, 'user-secret', email);
    const sourceId = sourceIdFor('user-secret', email);
    const issued = (await stack.admin.refreshTokens(email)).refreshTokens;
    const stored = (await stack.services.secrets.get(sourceId))!.refreshToken!;
    const key = stack.config.tokenSealing.kind === 'local' ? stack.config.tokenSealing.key : Buffer.alloc(0);
    const owner = { sourceId, userId: 'user-secret' };
    expect(issued).toContain(await decryptToken(stored, new LocalKeySealer(key), owner));
    await expect(decryptToken(stored, new LocalKeySealer(Buffer.alloc(32, 1)), owner)).rejects.toThrow();
    // Bound to its source and user: the same ciphertext does not open for anyone else.
    await expect(decryptToken(stored, new LocalKeySealer(key), { sourceId, userId: 'user-other' })).rejects.toThrow();

    // Every refresh token the sandbox issued during this suite, against everything written.
    const everyToken = (await Promise.all(
      ['ada.connect@example.com', 'state@example.com', 'work@example.com', 'home@example.com', 'leaving@example.com', email].map(async (e) => (await stack.admin.refreshTokens(e)).refreshTokens),
    )).flat();
    expect(everyToken.length).toBeGreaterThanOrEqual(6);
    const documents = await everyDocument(stack.db);
    expect(documents.length).toBeGreaterThan(10);
    for (const token of everyToken) {
      expect(documents.filter((d) => d.includes(token))).toEqual([]);
      expect(stack.logLines.filter((l) => l.includes(token))).toEqual([]);
    }
  });
});
