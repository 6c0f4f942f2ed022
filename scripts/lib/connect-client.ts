import { signIdToken } from '../../sandbox/src/identity-keys';

/**
 * Connects a sandbox account through the real connect flow, as the signed-in user's browser
 * and the host app would: POST start (the user's ID token; keeps the binding cookie) →
 * Google's consent page (the sandbox auto-approves the account) → callback (with the cookie)
 * → the host app reads the address being linked and confirms it for its user. The link id
 * comes back in the return URL's fragment (`#status=confirm&link=…`), which no server sees.
 */
export interface ConnectWalk {
  consentUrl: URL;
  callbackUrl: string;
  callback: Response;
  location: string | null;
  /** The browser-binding cookie the start set (`name=value`). */
  cookie: string | null;
  /** What confirming answered (null when the callback did not stage a grant or `confirm` was false). */
  confirmed: { status: number; body: { sourceId?: string; email?: string; status?: string } } | null;
}

export interface WalkOptions {
  /** The account signed in to "Google" in the consenting browser (default: `email`). */
  googleAccount?: string;
  /** Confirm the staged grant (default true). */
  confirm?: boolean;
  /** Send `email` as loginHint (default true). */
  loginHint?: boolean;
}

export async function startFlow(connectUrl: string, idToken: string, loginHint: string | null) {
  const form = new URLSearchParams({ idToken, ...(loginHint !== null && { loginHint }) });
  const start = await fetch(`${connectUrl}/start`, { method: 'POST', body: form, redirect: 'manual' });
  if (start.status !== 303) throw new Error(`connect/start answered ${start.status}: ${await start.text()}`);
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] || null;
  return { consentUrl: new URL(start.headers.get('location')!), cookie };
}

export async function connectThroughFlow(connectUrl: string, idToken: string, email: string, options: WalkOptions = {}): Promise<ConnectWalk> {
  const { consentUrl, cookie } = await startFlow(connectUrl, idToken, options.loginHint === false ? null : email);
  const asAccount = new URL(consentUrl);
  if (options.googleAccount !== undefined) asAccount.searchParams.set('authuser', options.googleAccount);
  const consent = await fetch(asAccount, { redirect: 'manual' });
  if (consent.status !== 302) throw new Error(`the consent page answered ${consent.status}: ${await consent.text()}`);
  const callbackUrl = consent.headers.get('location')!;
  const callback = await fetch(callbackUrl, { redirect: 'manual', headers: cookie ? { Cookie: cookie } : {} });
  const location = callback.headers.get('location');
  const link = location ? linkFrom(location) : null;
  const confirmed = link !== null && options.confirm !== false ? await confirmLink(connectUrl, idToken, link) : null;
  return { consentUrl, callbackUrl, callback, location, cookie, confirmed };
}

/** The link id in a return URL (`#status=confirm&link=…`), or null. */
export function linkFrom(returnUrl: string): string | null {
  return new URLSearchParams(new URL(returnUrl).hash.slice(1)).get('link');
}

/** The host app's side: confirm a staged grant for its signed-in user. */
export async function confirmLink(connectUrl: string, idToken: string, link: string) {
  const response = await fetch(`${connectUrl}/confirm`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${idToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ link }),
  });
  return { status: response.status, body: (await response.json()) as { sourceId?: string; email?: string; status?: string } };
}

/** A Firebase Auth ID token for `uid`, RS256-signed by the sandbox's published key. */
export function firebaseIdToken(sandboxUrl: string, projectId: string, uid: string, overrides: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signIdToken(sandboxUrl, {
    claims: { iss: `https://securetoken.google.com/${projectId}`, aud: projectId, sub: uid, iat: now, exp: now + 3600, auth_time: now, ...overrides },
  });
}
