import { CodeChallengeMethod, OAuth2Client } from 'google-auth-library';
import { FIREBASE_CERTS_PATH, signIdToken } from '../../../sandbox/src/identity-keys';
import { useSandbox } from '../../support/sandbox-fixture';

/**
 * The sandbox's OAuth server as Google's, through google-auth-library: PKCE S256 checked
 * faithfully, a refresh token only for offline access and again only with prompt=consent,
 * the revoke endpoint ending the grant, and ID-token keys published as Google does.
 */

const email = 'grace@example.com';
const redirectUri = 'http://127.0.0.1:9/callback';

const running = useSandbox();
beforeEach(async () => {
  await running.admin.reset();
  await running.admin.createAccount(email);
});

function client(): OAuth2Client {
  const { clientId, clientSecret } = running.sandbox.world.options;
  return new OAuth2Client({
    clientId,
    clientSecret,
    redirectUri,
    endpoints: { oauth2TokenUrl: `${running.sandbox.url}/token`, oauth2AuthBaseUrl: `${running.sandbox.url}/o/oauth2/v2/auth`, oauth2RevokeUrl: `${running.sandbox.url}/revoke`, oauth2FederatedSignonPemCertsUrl: `${running.sandbox.url}${FIREBASE_CERTS_PATH}` },
    transporterOptions: { fetchImplementation: fetch, retry: false },
  });
}

async function codeFor(oauth: OAuth2Client, options: { access_type?: string; prompt?: string; code_challenge?: string }): Promise<string> {
  const url = oauth.generateAuthUrl({
    scope: ['https://www.googleapis.com/auth/gmail.metadata'],
    login_hint: email,
    ...options,
    ...(options.code_challenge !== undefined && { code_challenge_method: CodeChallengeMethod.S256 }),
  });
  const consent = await fetch(url, { redirect: 'manual' });
  expect(consent.status).toBe(302);
  return new URL(consent.headers.get('location')!).searchParams.get('code')!;
}

describe('the sandbox OAuth server', () => {
  it('checks the PKCE verifier: missing or wrong → invalid_grant, right → tokens', async () => {
    const oauth = client();
    const { codeVerifier, codeChallenge } = await oauth.generateCodeVerifierAsync();
    await expect(oauth.getToken({ code: await codeFor(oauth, { access_type: 'offline', code_challenge: codeChallenge! }) })).rejects.toThrow(/invalid_grant/);
    const wrong = await oauth.generateCodeVerifierAsync();
    await expect(oauth.getToken({ code: await codeFor(oauth, { access_type: 'offline', code_challenge: codeChallenge! }), codeVerifier: wrong.codeVerifier })).rejects.toThrow(/invalid_grant/);
    const { tokens } = await oauth.getToken({ code: await codeFor(oauth, { access_type: 'offline', code_challenge: codeChallenge! }), codeVerifier });
    expect(tokens.access_token).toMatch(/^ya29\./);
  });

  it('issues a refresh token only for offline access, once, and again with prompt=consent', async () => {
    const oauth = client();
    expect((await oauth.getToken(await codeFor(oauth, {}))).tokens.refresh_token).toBeUndefined();
    expect((await oauth.getToken(await codeFor(oauth, { access_type: 'offline' }))).tokens.refresh_token).toMatch(/^1\/\//);
    expect((await oauth.getToken(await codeFor(oauth, { access_type: 'offline' }))).tokens.refresh_token).toBeUndefined();
    expect((await oauth.getToken(await codeFor(oauth, { access_type: 'offline', prompt: 'consent' }))).tokens.refresh_token).toMatch(/^1\/\//);
  });

  it('revokes a grant: its refresh tokens stop working; an unknown token is a 400', async () => {
    const oauth = client();
    const refreshToken = (await oauth.getToken(await codeFor(oauth, { access_type: 'offline', prompt: 'consent' }))).tokens.refresh_token!;
    await oauth.revokeToken(refreshToken);
    const user = client();
    user.setCredentials({ refresh_token: refreshToken });
    await expect(user.getAccessToken()).rejects.toThrow(/invalid_grant/);
    await expect(oauth.revokeToken('1//never-issued')).rejects.toThrow();
    // After a revoke, consenting again is a first consent: a refresh token again.
    expect((await oauth.getToken(await codeFor(oauth, { access_type: 'offline' }))).tokens.refresh_token).toMatch(/^1\/\//);
  });

  it('publishes its ID-token keys with a max-age, and google-auth-library verifies what it signs', async () => {
    const keys = await fetch(`${running.sandbox.url}${FIREBASE_CERTS_PATH}`);
    expect(keys.headers.get('cache-control')).toMatch(/max-age=\d+/);
    const now = Math.floor(Date.now() / 1000);
    const idToken = await signIdToken(running.sandbox.url, { claims: { iss: 'https://securetoken.google.com/demo-p', aud: 'demo-p', sub: 'u1', iat: now, exp: now + 600 } });
    const oauth = client();
    const { certs } = await oauth.getFederatedSignonCertsAsync();
    const ticket = await oauth.verifySignedJwtWithCertsAsync(idToken, certs, 'demo-p', ['https://securetoken.google.com/demo-p']);
    expect(ticket.getPayload()?.sub).toBe('u1');
    const forged = await signIdToken(running.sandbox.url, { claims: { iss: 'https://securetoken.google.com/demo-p', aud: 'demo-p', sub: 'u1', iat: now, exp: now + 600 }, foreignKey: true });
    await expect(oauth.verifySignedJwtWithCertsAsync(forged, certs, 'demo-p', ['https://securetoken.google.com/demo-p'])).rejects.toThrow();
  });
});
