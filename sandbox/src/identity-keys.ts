import { createSign, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import * as z from 'zod';
import type { Router } from './http';

/**
 * Google's published ID-token signing keys, on loopback: the Firebase Auth keys
 * (`/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com`) and Google's OIDC keys
 * (`/oauth2/v1/certs`), as `{kid: PEM}` with a Cache-Control max-age, the shape Google
 * serves. (Google's values are X.509 certificates; ours are the bare public keys, which the
 * verifiers read the same way.) The admin API signs RS256 tokens with the private key, so
 * tests exercise the real signature path.
 */

export const FIREBASE_CERTS_PATH = '/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com';
export const GOOGLE_CERTS_PATH = '/oauth2/v1/certs';

const tokenRequest = z.object({
  claims: z.record(z.string(), z.unknown()),
  /** Header fields to override (tests forge `alg` or `kid`). */
  header: z.record(z.string(), z.unknown()).default({}),
  /** Sign with a key the sandbox does not publish (a forged signature). */
  foreignKey: z.boolean().default(false),
});

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function sign(header: Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject): string {
  const signed = `${b64url(header)}.${b64url(claims)}`;
  return `${signed}.${createSign('RSA-SHA256').update(signed).sign(key).toString('base64url')}`;
}

export function registerIdentityKeys(router: Router): void {
  const kid = randomBytes(20).toString('hex');
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const foreign = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const published = { [kid]: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
  const serveKeys = () => ({ status: 200, body: published, headers: { 'Cache-Control': 'public, max-age=19800, must-revalidate, no-transform' } });
  router.on('GET', FIREBASE_CERTS_PATH, serveKeys);
  router.on('GET', GOOGLE_CERTS_PATH, serveKeys);
  router.on('POST', '/_admin/id-tokens', ({ body }) => {
    const parsed = tokenRequest.safeParse(body ?? {});
    if (!parsed.success) return { status: 400, body: { error: z.prettifyError(parsed.error) } };
    const { claims, header, foreignKey } = parsed.data;
    return { status: 200, body: { idToken: sign({ alg: 'RS256', kid, typ: 'JWT', ...header }, claims, foreignKey ? foreign : privateKey) } };
  });
}

/** Asks the sandbox to sign an ID token (tests and the local stack's demo sign-in). */
export async function signIdToken(sandboxUrl: string, request: z.input<typeof tokenRequest>): Promise<string> {
  const response = await fetch(`${sandboxUrl}/_admin/id-tokens`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(request) });
  if (!response.ok) throw new Error(`the sandbox refused to sign: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { idToken: string }).idToken;
}
