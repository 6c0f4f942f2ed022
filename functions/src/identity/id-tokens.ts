import { OAuth2Client } from 'google-auth-library';
import * as z from 'zod';

/**
 * Verified identities for browser-facing and server-to-server calls.
 *
 * - Firebase Auth ID tokens (the task app's signed-in user): RS256, signed by a key Google
 *   publishes at `certsUrl` (honouring its Cache-Control), `aud` = the project,
 *   `iss` = https://securetoken.google.com/PROJECT, not expired, `sub` = the user id.
 * - Google-signed ID tokens of server callers (the task app's backend, an operator):
 *   `iss` accounts.google.com, `aud` = the connect function's URL, and a verified `email`
 *   on the allow-list.
 *
 * Unsigned tokens (`alg: none`, what the Firebase Auth emulator issues) are accepted only
 * when the emulator is configured; every claim is still checked.
 */

export interface VerifiedUser {
  uid: string;
  email: string | null;
}

export interface UserVerifier {
  /** The user, or null for a token that is malformed, forged, expired or not for us. */
  verify(idToken: string): Promise<VerifiedUser | null>;
}

const claimsSchema = z.object({
  sub: z.string().min(1).max(128),
  aud: z.union([z.string(), z.array(z.string())]),
  iss: z.string(),
  exp: z.number(),
  iat: z.number(),
  email: z.string().optional(),
  email_verified: z.boolean().optional(),
});
type Claims = z.infer<typeof claimsSchema>;

const CLOCK_SKEW_S = 300;

function decodeUnsigned(idToken: string): Claims | null {
  const parts = idToken.split('.');
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as { alg?: unknown };
    if (header.alg !== 'none') return null;
    const claims = claimsSchema.safeParse(JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')));
    return claims.success ? claims.data : null;
  } catch {
    return null;
  }
}

function algorithmOf(idToken: string): string | null {
  try {
    return (JSON.parse(Buffer.from(idToken.split('.')[0] ?? '', 'base64url').toString('utf8')) as { alg?: string }).alg ?? null;
  } catch {
    return null;
  }
}

/** Signature, audience, issuer and times, through google-auth-library and the published keys. */
class SignedTokenChecker {
  private readonly client: OAuth2Client;

  constructor(certsUrl: string) {
    this.client = new OAuth2Client({
      endpoints: { oauth2FederatedSignonPemCertsUrl: certsUrl },
      transporterOptions: { fetchImplementation: fetch, retry: false },
    });
  }

  async check(idToken: string, audience: string, issuers: string[]): Promise<Claims | null> {
    if (algorithmOf(idToken) !== 'RS256') return null;
    const { certs } = await this.client.getFederatedSignonCertsAsync();
    try {
      const ticket = await this.client.verifySignedJwtWithCertsAsync(idToken, certs, audience, issuers);
      const claims = claimsSchema.safeParse(ticket.getPayload());
      return claims.success ? claims.data : null;
    } catch {
      // Forged, expired, wrong audience or issuer: google-auth-library says which; we only refuse.
      return null;
    }
  }
}

function claimsHold(claims: Claims, audience: string, issuer: string, nowMs: number): boolean {
  const now = nowMs / 1000;
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  return audiences.includes(audience) && claims.iss === issuer && claims.exp + CLOCK_SKEW_S > now && claims.iat - CLOCK_SKEW_S < now;
}

export class FirebaseUserVerifier implements UserVerifier {
  private readonly checker: SignedTokenChecker;
  private readonly issuer: string;

  constructor(private readonly options: { projectId: string; certsUrl: string; acceptUnsigned: boolean; now?: () => number }) {
    this.checker = new SignedTokenChecker(options.certsUrl);
    this.issuer = `https://securetoken.google.com/${options.projectId}`;
  }

  async verify(idToken: string): Promise<VerifiedUser | null> {
    const unsigned = this.options.acceptUnsigned ? decodeUnsigned(idToken) : null;
    const claims = unsigned ?? (await this.checker.check(idToken, this.options.projectId, [this.issuer]));
    if (!claims || !claimsHold(claims, this.options.projectId, this.issuer, (this.options.now ?? Date.now)())) return null;
    return { uid: claims.sub, email: claims.email_verified === true ? (claims.email ?? null) : null };
  }
}

/** Server-to-server callers: a Google-signed ID token of an allowed service account. */
export class ServerCallerVerifier {
  private readonly checker: SignedTokenChecker;

  constructor(private readonly options: { certsUrl: string; audience: string; allowed: readonly string[] }) {
    this.checker = new SignedTokenChecker(options.certsUrl);
  }

  /** The caller's email when it is an allowed account, else null. */
  async verify(idToken: string): Promise<string | null> {
    if (this.options.allowed.length === 0) return null;
    const claims = await this.checker.check(idToken, this.options.audience, ['https://accounts.google.com', 'accounts.google.com']);
    if (!claims?.email || claims.email_verified !== true) return null;
    return this.options.allowed.includes(claims.email.toLowerCase()) ? claims.email : null;
  }
}

/** `Authorization: Bearer <token>`, or null. */
export function bearerToken(authorization: string | undefined): string | null {
  const match = /^Bearer ([A-Za-z0-9_.-]{20,8192}={0,2})$/.exec(authorization ?? '');
  return match ? match[1]! : null;
}
