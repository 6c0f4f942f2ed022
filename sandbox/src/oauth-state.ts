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

interface AuthorizationCode extends Grant {
  redirectUri: string;
  expiresAt: number;
  used: boolean;
}

export const ACCESS_TOKEN_TTL_S = 3599;
const CODE_TTL_MS = 10 * 60_000;

export class OAuthState {
  private readonly refreshTokens = new Map<string, Grant & { revoked: boolean }>();
  private readonly accessTokens = new Map<string, AccessToken>();
  private readonly codes = new Map<string, AuthorizationCode>();

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

  issueCode(grant: Grant, redirectUri: string, now: number): string {
    const code = `4/sandbox-${this.random.hex(32)}`;
    this.codes.set(code, { ...grant, redirectUri, expiresAt: now + CODE_TTL_MS, used: false });
    return code;
  }

  /** Codes are single-use and bound to the client and redirect URI they were issued for. */
  redeemCode(code: string, clientId: string, redirectUri: string, now: number): Grant | null {
    const entry = this.codes.get(code);
    if (!entry || entry.used || entry.expiresAt <= now) return null;
    if (entry.clientId !== clientId || entry.redirectUri !== redirectUri) return null;
    entry.used = true;
    return entry;
  }

  /** Every refresh token ever issued for the account (ground truth for leak checks). */
  refreshTokensFor(email: string): string[] {
    return [...this.refreshTokens].filter(([, grant]) => grant.email === email).map(([token]) => token);
  }

  /** The user revoked access: refresh tokens stop working and access tokens die at once. */
  revoke(email: string): void {
    for (const grant of this.refreshTokens.values()) if (grant.email === email) grant.revoked = true;
    for (const [token, entry] of this.accessTokens) if (entry.email === email) this.accessTokens.delete(token);
  }
}
