import { createPublicKey, createVerify, type JsonWebKey, type KeyObject } from 'node:crypto';

/**
 * Verifies the OIDC token Pub/Sub signs a push delivery with: RS256 by one of Google's
 * published keys (fetched once and cached as long as their Cache-Control allows), the issuer,
 * the audience the subscription names, the times, and optionally the signing account.
 */
export interface VerifyPushOptions {
  /** The audience the push subscription names (`--push-auth-token-audience`). */
  audience: string;
  /** The push subscription's service account; when set, the token must name it, verified. */
  serviceAccountEmail?: string;
  /** Google's JWKS (default), or a `{kid: PEM}` certificate list (Google's v1 shape); tests serve their own. */
  jwksUrl?: string;
  issuers?: readonly string[];
  /** Seconds of clock skew tolerated on `exp`/`iat`. */
  clockSkewSeconds?: number;
  now?: () => Date;
}

export interface VerifiedPush {
  email: string | null;
  subject: string;
}

export class PushRefused extends Error {
  constructor(readonly reason: string) {
    super(`push refused: ${reason}`);
    this.name = 'PushRefused';
  }
}

export const GOOGLE_JWKS_URL = 'https://www.googleapis.com/oauth2/v3/certs';
const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];

interface Jwk extends JsonWebKey {
  kid?: string;
}
interface CachedKeys {
  keys: Map<string, KeyObject>;
  until: number;
}

/** A JWKS (`{keys: [...]}`) or a `{kid: PEM}` list, as public keys by key id. */
function keysOf(body: unknown): Map<string, KeyObject> {
  if (body !== null && typeof body === 'object' && Array.isArray((body as { keys?: unknown }).keys)) {
    return new Map((body as { keys: Jwk[] }).keys.filter((k) => k.kid).map((k) => [k.kid!, createPublicKey({ key: k, format: 'jwk' })]));
  }
  return new Map(Object.entries((body ?? {}) as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string').map(([kid, pem]) => [kid, createPublicKey(pem)]));
}
const cache = new Map<string, Promise<CachedKeys>>();

async function fetchKeys(url: string, now: number): Promise<CachedKeys> {
  const response = await fetch(url);
  if (!response.ok) throw new PushRefused(`keys unavailable (${response.status})`);
  const maxAge = /max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '')?.[1];
  return { keys: keysOf(await response.json()), until: now + Number(maxAge ?? 0) * 1000 };
}

/** The keys at `url`, from the cache while fresh; refetched once for a key id not yet seen (a rotation). */
async function keyFor(url: string, kid: string, now: number): Promise<KeyObject | undefined> {
  const held = cache.get(url);
  const fresh = held && (await held.catch(() => null));
  if (fresh && fresh.until > now && fresh.keys.has(kid)) return fresh.keys.get(kid);
  const fetched = fetchKeys(url, now);
  cache.set(url, fetched);
  fetched.catch(() => cache.delete(url));
  return (await fetched).keys.get(kid);
}

function decodePart(part: string | undefined): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through: refused below
  }
  throw new PushRefused('malformed token');
}

function checkClaims(claims: Record<string, unknown>, options: VerifyPushOptions): VerifiedPush {
  const now = (options.now?.() ?? new Date()).getTime() / 1000;
  const skew = options.clockSkewSeconds ?? 300;
  if (!(options.issuers ?? GOOGLE_ISSUERS).includes(String(claims.iss))) throw new PushRefused('wrong issuer');
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(options.audience)) throw new PushRefused('wrong audience');
  if (typeof claims.exp !== 'number' || claims.exp + skew < now) throw new PushRefused('expired');
  if (typeof claims.iat !== 'number' || claims.iat - skew > now) throw new PushRefused('issued in the future');
  const email = typeof claims.email === 'string' ? claims.email : null;
  if (options.serviceAccountEmail !== undefined && (email !== options.serviceAccountEmail || claims.email_verified !== true)) throw new PushRefused('wrong signer');
  return { email, subject: typeof claims.sub === 'string' ? claims.sub : '' };
}

/** `authorization`: the request's Authorization header. Throws `PushRefused` for anything not proven. */
export async function verifyPush(authorization: string | undefined | null, options: VerifyPushOptions): Promise<VerifiedPush> {
  const token = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(authorization ?? '')?.[1];
  if (!token) throw new PushRefused('no bearer token');
  const [headerPart, payloadPart, signature] = token.split('.');
  const header = decodePart(headerPart);
  if (header.alg !== 'RS256' || typeof header.kid !== 'string') throw new PushRefused('unsupported algorithm');
  const key = await keyFor(options.jwksUrl ?? GOOGLE_JWKS_URL, header.kid, (options.now?.() ?? new Date()).getTime());
  if (!key) throw new PushRefused('unknown key');
  const verifier = createVerify('RSA-SHA256').update(`${headerPart}.${payloadPart}`);
  if (!verifier.verify(key, Buffer.from(signature!, 'base64url'))) throw new PushRefused('bad signature');
  return checkClaims(decodePart(payloadPart), options);
}
