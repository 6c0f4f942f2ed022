import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { PushRefused, verifyPush } from '../../../client/src/verify-push';

/** Keys generated here, served from a loopback JWKS URL; tokens signed here. */
const signing = generateKeyPairSync('rsa', { modulusLength: 2048 });
const forger = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KID = 'test-key-1';
const AUDIENCE = 'https://app.example.com/hooks/task-changes';
const PUSHER = 'task-changes-pusher@p.iam.gserviceaccount.com';
const NOW = new Date('2026-12-07T10:00:00Z');
const now = () => NOW;
let server: Server;
let jwksUrl: string;
let keyFetches = 0;

beforeAll(async () => {
  server = createServer((_req, res) => {
    keyFetches += 1;
    res.setHeader('Cache-Control', 'public, max-age=3600');
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ keys: [{ ...signing.publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/certs`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

function token(claims: Record<string, unknown>, key: KeyObject = signing.privateKey, header: Record<string, unknown> = { alg: 'RS256', kid: KID, typ: 'JWT' }): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const unsigned = `${part(header)}.${part(claims)}`;
  return `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(key).toString('base64url')}`;
}

const seconds = NOW.getTime() / 1000;
const good = { iss: 'https://accounts.google.com', aud: AUDIENCE, sub: '1234', email: PUSHER, email_verified: true, iat: seconds - 60, exp: seconds + 3540 };
const options = { audience: AUDIENCE, serviceAccountEmail: PUSHER, now, get jwksUrl() { return jwksUrl; } };
const refusal = async (authorization: string | undefined) => verifyPush(authorization, options).then(() => 'accepted', (e: unknown) => (e instanceof PushRefused ? e.reason : String(e)));

test('accepts a push signed by a published key, for our audience, from our push account; the keys are fetched once', async () => {
  keyFetches = 0;
  await expect(verifyPush(`Bearer ${token(good)}`, options)).resolves.toEqual({ email: PUSHER, subject: '1234' });
  await expect(verifyPush(`Bearer ${token({ ...good, sub: '5678' })}`, options)).resolves.toMatchObject({ subject: '5678' });
  expect(keyFetches).toBe(1);
});

test('refuses a missing, expired, wrongly addressed, wrongly issued, forged or unsigned token', async () => {
  expect(await refusal(undefined)).toBe('no bearer token');
  expect(await refusal('Basic abc')).toBe('no bearer token');
  expect(await refusal(`Bearer ${token({ ...good, exp: seconds - 3600 })}`)).toBe('expired');
  expect(await refusal(`Bearer ${token({ ...good, aud: 'https://elsewhere.example.com' })}`)).toBe('wrong audience');
  expect(await refusal(`Bearer ${token({ ...good, iss: 'https://securetoken.google.com/p' })}`)).toBe('wrong issuer');
  expect(await refusal(`Bearer ${token({ ...good, email: 'someone@p.iam.gserviceaccount.com' })}`)).toBe('wrong signer');
  expect(await refusal(`Bearer ${token(good, forger.privateKey)}`)).toBe('bad signature');
  expect(await refusal(`Bearer ${token(good, signing.privateKey, { alg: 'none', kid: KID })}`)).toBe('unsupported algorithm');
  expect(await refusal(`Bearer ${token(good, forger.privateKey, { alg: 'RS256', kid: 'unknown-kid' })}`)).toBe('unknown key');
});
