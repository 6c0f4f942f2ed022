import { emulatorSignIn } from '../../../scripts/lib/demo';
import { idTokenFor } from '../../support/connect';
import { startEngineStack, type EngineStack } from '../../support/engine-stack';

/**
 * sourceStatus answers for the user of a verified Firebase ID token only: the `userId` query
 * parameter it used to trust is ignored. Unsigned tokens (the Auth emulator's) count only
 * when the emulator is configured.
 */

let stack: EngineStack;
let withEmulator: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack();
  withEmulator = await startEngineStack({ env: { FIREBASE_AUTH_EMULATOR_HOST: process.env.FIREBASE_AUTH_EMULATOR_HOST!, FIREBASE_PROJECT_ID: process.env.GOOGLE_CLOUD_PROJECT! } });
});
afterAll(async () => {
  await stack.close();
  await withEmulator.close();
});

const status = (target: EngineStack, query: string, token?: string) =>
  fetch(`${target.functionUrl('sourceStatus')}${query}`, { headers: { Accept: 'application/json', ...(token !== undefined && { Authorization: `Bearer ${token}` }) } });

describe('sourceStatus identity', () => {
  it("answers for the token's user only, whatever userId the query names", async () => {
    await stack.connect('src-alice', 'alice@example.com', 'user-alice');
    await stack.connect('src-bob', 'bob@example.com', 'user-bob');
    expect((await status(stack, '?userId=user-bob')).status).toBe(401);
    const alice = await status(stack, '?userId=user-bob', await idTokenFor(stack, 'user-alice'));
    expect(alice.status).toBe(200);
    const body = (await alice.json()) as { userId: string; sources: { email: string }[] };
    expect(body.userId).toBe('user-alice');
    expect(body.sources.map((s) => s.email)).toEqual(['alice@example.com']);
  });

  it('refuses forged and expired tokens', async () => {
    const expired = await idTokenFor(stack, 'user-alice', { iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 });
    expect((await status(stack, '', expired)).status).toBe(401);
    const [header, payload, signature] = (await idTokenFor(stack, 'user-alice')).split('.');
    const bob = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'user-bob' })).toString('base64url');
    expect((await status(stack, '', `${header}.${bob}.${signature}`)).status).toBe(401);
  });

  it("accepts the Auth emulator's unsigned tokens only where the emulator is configured", async () => {
    const { uid, idToken } = await emulatorSignIn(process.env.FIREBASE_AUTH_EMULATOR_HOST!, 'emulated@example.com', 'emulated-password');
    await withEmulator.connect('src-emulated', 'emulated@example.com', uid);
    expect(idToken.split('.')[2]).toBe('');
    const accepted = await status(withEmulator, '', idToken);
    expect(accepted.status).toBe(200);
    expect(((await accepted.json()) as { sources: unknown[] }).sources).toHaveLength(1);
    expect((await status(stack, '', idToken)).status).toBe(401);
  });
});
