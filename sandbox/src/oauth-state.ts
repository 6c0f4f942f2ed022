import { createHash } from 'node:crypto';
import type { Random } from './random';

/** Refresh tokens, access tokens and authorization codes, as Google's OAuth server keeps them. */

export const ENGINE_SCOPES = [
  'https://www.googleapis.com/auth/gmail.metadata',
  'https://www.googleapis.com/auth/calendar.readonly',
];

export interface Grant {
  email: string;
  clientId: string;
  scopes: string[];
}

interface AccessToken extends Grant {
  expiresAt: number;
}

/** What the consent request asked for, remembered with the code it produced. */
export interface ConsentRequest {
  redirectUri: string;
  /** `access_type=offline`: only then does the code exchange return a refresh token. */
  offline: boolean;
  /** `prompt=consent`: a refresh token again, even if the account had consented before. */
  forceConsent: boolean;
  /** PKCE: the S256 challenge, or null when the client sent none. */
  codeChallenge: string | null;
}

interface AuthorizationCode extends Grant, ConsentRequest {
  expiresAt: number;
  used: boolean;
}

export const ACCESS_TOKEN_TTL_S = 3599;
const CODE_TTL_MS = 10 * 60_000;

export class OAuthState {
  private readonly refreshTokens = new Map<string, Grant & { revoked: boolean }>();
  private readonly accessTokens = new Map<string, AccessToken>();
  private readonly codes = new Map<string, AuthorizationCode>();
  /** Accounts (email|client) that already hold an offline grant: Google issues a refresh token once. */
  private readonly offlineGrants = new Set<string>();

  constructor(private readonly random: Random) {}

  grantRefreshToken(grant: Grant): string {
    const token = `1//sandbox-${this.random.hex(40)}`;
    this.refreshTokens.set(token, { ...grant, revoked: false });
    return token;
  }

  /** `null` when the token is unknown or revoked: the token endpoint answers invalid_grant. */
  refresh(refreshToken: string, clientId: string, now: number): { accessToken: string; grant: Grant } | null {
    const grant = this.refreshTokens.get(refreshToken);
    if (!grant || grant.revoked || grant.clientId !== clientId) return null;
    return { accessToken: this.issueAccessToken(grant, now), grant };
  }

  issueAccessToken(grant: Grant, now: number): string {
    const token = `ya29.sandbox-${this.random.hex(48)}`;
    this.accessTokens.set(token, { ...grant, expiresAt: now + ACCESS_TOKEN_TTL_S * 1000 });
    return token;
  }

  authenticate(accessToken: string | undefined, now: number): Grant | null {
    if (!accessToken) return null;
    const entry = this.accessTokens.get(accessToken);
    if (!entry || entry.expiresAt <= now) return null;
    return entry;
  }

  issueCode(grant: Grant, consent: ConsentRequest, now: number): string {
    const code = `4/sandbox-${this.random.hex(32)}`;
    this.codes.set(code, { ...grant, ...consent, expiresAt: now + CODE_TTL_MS, used: false });
    return code;
  }

  /**
   * Codes are single-use and bound to the client, the redirect URI and (PKCE) the verifier
   * whose S256 hash the consent request carried. Returns the grant and, as Google does, a
   * refresh token only for an offline request, and only on the account's first consent
   * unless `prompt=consent` asked again.
   */
  redeemCode(
    code: string,
    request: { clientId: string; redirectUri: string; codeVerifier: string | undefined },
    now: number,
  ): { grant: Grant; refreshToken: string | null } | { error: string } {
    const entry = this.codes.get(code);
    if (!entry || entry.used || entry.expiresAt <= now) return { error: 'Malformed auth code.' };
    if (entry.clientId !== request.clientId || entry.redirectUri !== request.redirectUri) return { error: 'Malformed auth code.' };
    if (entry.codeChallenge !== null) {
      if (request.codeVerifier === undefined) return { error: 'Missing code verifier.' };
      const challenge = createHash('sha256').update(request.codeVerifier, 'ascii').digest('base64url');
      if (challenge !== entry.codeChallenge) return { error: 'Invalid code verifier.' };
    }
    entry.used = true;
    const grant: Grant = { email: entry.email, clientId: entry.clientId, scopes: entry.scopes };
    const key = `${grant.email}|${grant.clientId}`;
    const issue = entry.offline && (entry.forceConsent || !this.offlineGrants.has(key));
    if (entry.offline) this.offlineGrants.add(key);
    return { grant, refreshToken: issue ? this.grantRefreshToken(grant) : null };
  }

  /**
   * Google's revoke endpoint: revoking a refresh or access token ends the whole grant of
   * that account to that client. False when the token is unknown.
   */
  revokeToken(token: string): boolean {
    const grant = this.refreshTokens.get(token) ?? this.accessTokens.get(token);
    if (!grant) return false;
    this.revokeGrants((g) => g.email === grant.email && g.clientId === grant.clientId);
    return true;
  }

  /** Every refresh token ever issued for the account (ground truth for leak checks). */
  refreshTokensFor(email: string): string[] {
    return [...this.refreshTokens].filter(([, grant]) => grant.email === email).map(([token]) => token);
  }

  /** The user revoked access: refresh tokens stop working and access tokens die at once. */
  revoke(email: string): void {
    this.revokeGrants((g) => g.email === email);
  }

  /** Whether the token still works (a test's view of Google's truth). */
  isRefreshTokenLive(token: string): boolean {
    const grant = this.refreshTokens.get(token);
    return grant !== undefined && !grant.revoked;
  }

  private revokeGrants(matches: (grant: Grant) => boolean): void {
    for (const grant of this.refreshTokens.values()) if (matches(grant)) grant.revoked = true;
    for (const [token, entry] of this.accessTokens) if (matches(entry)) this.accessTokens.delete(token);
    for (const key of [...this.offlineGrants]) {
      const [email, clientId] = key.split('|') as [string, string];
      if (matches({ email, clientId, scopes: [] })) this.offlineGrants.delete(key);
    }
  }
}
