import { gmail } from '@googleapis/gmail';
import { OAuth2Client } from 'google-auth-library';
import { SandboxAdmin, type CreatedAccount } from '../../../sandbox/src/admin-client';
import { startSandbox, type RunningSandbox } from '../../../sandbox/src/server';
import { failure, officialClients } from '../../support/google-clients';

let sandbox: RunningSandbox;
let admin: SandboxAdmin;
const email = 'linus@example.com';
let account: CreatedAccount;

beforeAll(async () => {
  sandbox = await startSandbox();
  admin = new SandboxAdmin(sandbox.url);
});
afterAll(() => sandbox.close());
beforeEach(async () => {
  await admin.reset();
  account = await admin.createAccount(email);
});

describe('OAuth', () => {
  it('answers 401 to a call without a valid access token, as Google does: "Login Required." without one, authError with a bad one', async () => {
    const anonymous = gmail({ version: 'v1', rootUrl: `${sandbox.url}/`, retry: false, fetchImplementation: fetch });
    const missing = await failure(anonymous.users.getProfile({ userId: 'me' }));
    expect(missing).toMatchObject({ status: 401, reason: 'required' });
    expect(missing.headers?.get('www-authenticate')).toBe('Bearer realm="https://accounts.google.com/"');
    const raw = await fetch(`${sandbox.url}/gmail/v1/users/me/profile`);
    expect(await raw.json()).toMatchObject({
      error: { code: 401, status: 'UNAUTHENTICATED', errors: [{ message: 'Login Required.', domain: 'global', reason: 'required', location: 'Authorization', locationType: 'header' }] },
    });
    const calendarRaw = await fetch(`${sandbox.url}/calendar/v3/calendars/primary/events`);
    expect(calendarRaw.status).toBe(401);
    expect(calendarRaw.headers.get('www-authenticate')).toBe('Bearer realm="https://accounts.google.com/"');

    const forged = new OAuth2Client({ transporterOptions: { fetchImplementation: fetch } });
    forged.setCredentials({ access_token: 'ya29.forged', expiry_date: Date.now() + 3_600_000 });
    const withForged = gmail({ version: 'v1', auth: forged, rootUrl: `${sandbox.url}/`, retry: false, fetchImplementation: fetch });
    const bad = await failure(withForged.users.getProfile({ userId: 'me' }));
    expect(bad).toMatchObject({ status: 401, reason: 'authError' });
    expect(bad.headers?.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('refreshes to an access token with expires_in, and answers invalid_grant once revoked', async () => {
    const { auth, gmail: client } = officialClients(sandbox.url, account);
    const { token } = await auth.getAccessToken();
    expect(token).toMatch(/^ya29\./);
    expect(auth.credentials.expiry_date! - Date.now()).toBeGreaterThan(3500_000);

    await admin.revoke(email);
    const revoked = await failure(client.users.getProfile({ userId: 'me' }));
    expect(revoked.status).toBe(401);
    const fresh = officialClients(sandbox.url, account);
    const refused = await failure(fresh.auth.getAccessToken());
    expect(refused.status).toBe(400);
    expect(refused.message).toContain('invalid_grant');
  });

  it('runs the authorization-code flow: auto-approve by login_hint, single-use code exchange', async () => {
    const redirectUri = 'http://127.0.0.1:9/callback';
    const client = new OAuth2Client({
      clientId: account.clientId,
      clientSecret: account.clientSecret,
      redirectUri,
      endpoints: { oauth2TokenUrl: `${sandbox.url}/token`, oauth2AuthBaseUrl: `${sandbox.url}/o/oauth2/v2/auth` },
      transporterOptions: { fetchImplementation: fetch },
    });
    const consentUrl = client.generateAuthUrl({
      access_type: 'offline',
      scope: ['https://www.googleapis.com/auth/gmail.metadata'],
      state: 'state-123',
      login_hint: email,
    });
    const consent = await fetch(consentUrl, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const callback = new URL(consent.headers.get('location')!);
    expect(callback.searchParams.get('state')).toBe('state-123');
    const code = callback.searchParams.get('code')!;

    const { tokens } = await client.getToken(code);
    expect(tokens.refresh_token).toBeTruthy();
    client.setCredentials(tokens);
    const api = gmail({ version: 'v1', auth: client, rootUrl: `${sandbox.url}/`, retry: false, fetchImplementation: fetch });
    expect((await api.users.getProfile({ userId: 'me' })).data.emailAddress).toBe(email);

    expect((await failure(client.getToken(code))).message).toContain('invalid_grant');
  });
});

describe('Google-shaped errors and quota', () => {
  it('injects 429 with Retry-After and 403 userRateLimitExceeded, which the client parses like Google\'s', async () => {
    const { gmail: client } = officialClients(sandbox.url, account);
    await admin.setFaults({ failNext: [{ method: 'gmail.users.getProfile', status: 429, count: 1, retryAfterSeconds: 2 }, { method: 'gmail.users.getProfile', status: 403, count: 1 }] });
    const tooMany = await failure(client.users.getProfile({ userId: 'me' }));
    expect(tooMany).toMatchObject({ status: 429, reason: 'rateLimitExceeded' });
    expect(tooMany.headers?.get('retry-after')).toBe('2');
    const userLimit = await failure(client.users.getProfile({ userId: 'me' }));
    expect(userLimit).toMatchObject({ status: 403, reason: 'userRateLimitExceeded' });
    expect((await client.users.getProfile({ userId: 'me' })).status).toBe(200);
  });

  it('enforces the per-user quota with configurable method costs', async () => {
    await admin.setQuota({ gmailUnitsPerMinute: 45, exceededStatus: 403 });
    const { gmail: client } = officialClients(sandbox.url, account);
    const sent = await admin.deliverMail(email, { subject: 'q' });
    await client.users.messages.get({ userId: 'me', id: sent.id, format: 'metadata' }); // 20 units
    await client.users.messages.get({ userId: 'me', id: sent.id, format: 'metadata' }); // 40 units
    const over = await failure(client.users.messages.get({ userId: 'me', id: sent.id, format: 'metadata' }));
    expect(over).toMatchObject({ status: 403, reason: 'userRateLimitExceeded' });
    expect((await client.users.getProfile({ userId: 'me' })).status).toBe(200); // 1 unit still fits
    await admin.setQuota({ gmailUnitsPerMinute: 6000, exceededStatus: 429 });
  });

  it('counts every call per account and method', async () => {
    const { gmail: client, calendar } = officialClients(sandbox.url, account);
    await admin.resetStats();
    await client.users.getProfile({ userId: 'me' });
    await client.users.getProfile({ userId: 'me' });
    await client.users.history.list({ userId: 'me', startHistoryId: (await client.users.getProfile({ userId: 'me' })).data.historyId! });
    await calendar.events.list({ calendarId: 'primary' });
    await failure(client.users.messages.get({ userId: 'me', id: 'missing', format: 'minimal' }));
    const { calls } = await admin.stats();
    expect(calls[email]).toEqual({
      'gmail.users.getProfile': 3,
      'gmail.users.history.list': 1,
      'gmail.users.messages.get': 1,
      'calendar.events.list': 1,
    });
  });
});
