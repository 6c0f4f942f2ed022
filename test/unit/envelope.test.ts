import { decryptToken, encryptToken, LocalKeySealer } from '../../functions/src/secrets/envelope';
import { KmsKeySealer, type KmsClient } from '../../functions/src/secrets/kms-sealer';

/** A stand-in for Cloud KMS's encrypt/decrypt: a keyed AES sealer behind the client's shape. */
function fakeKms(): KmsClient & { calls: string[] } {
  const inner = new LocalKeySealer(Buffer.alloc(32, 9));
  const calls: string[] = [];
  return {
    calls,
    async encrypt({ name, plaintext }) {
      calls.push(`encrypt ${name}`);
      return [{ ciphertext: Buffer.from(await inner.seal(plaintext), 'base64') }];
    },
    async decrypt({ name, ciphertext }) {
      calls.push(`decrypt ${name}`);
      return [{ plaintext: await inner.unseal(ciphertext.toString('base64')) }];
    },
  };
}

describe('envelope encryption of refresh tokens', () => {
  const token = '1//refresh-token-plaintext';

  it('round-trips with the local key and never carries the plaintext', async () => {
    const sealer = new LocalKeySealer(Buffer.alloc(32, 3));
    const sealed = await encryptToken(token, sealer);
    expect(JSON.stringify(sealed)).not.toContain(token);
    expect(await decryptToken(sealed, sealer)).toBe(token);
    await expect(decryptToken(sealed, new LocalKeySealer(Buffer.alloc(32, 4)))).rejects.toThrow();
  });

  it('uses a fresh data key per token', async () => {
    const sealer = new LocalKeySealer(Buffer.alloc(32, 3));
    const [a, b] = [await encryptToken(token, sealer), await encryptToken(token, sealer)];
    expect(a.sealedKey).not.toBe(b.sealedKey);
    expect(a.ciphertext).not.toBe(b.ciphertext);
  });

  it('seals data keys through Cloud KMS with the configured key, same envelope otherwise', async () => {
    const kms = fakeKms();
    const keyName = 'projects/p/locations/global/keyRings/r/cryptoKeys/refresh-tokens';
    const sealer = new KmsKeySealer(keyName, kms);
    const sealed = await encryptToken(token, sealer);
    expect(await decryptToken(sealed, sealer)).toBe(token);
    expect(kms.calls).toEqual([`encrypt ${keyName}`, `decrypt ${keyName}`]);
  });

  it('refuses a tampered ciphertext', async () => {
    const sealer = new LocalKeySealer(Buffer.alloc(32, 3));
    const sealed = await encryptToken(token, sealer);
    const flipped = Buffer.from(sealed.ciphertext, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    await expect(decryptToken({ ...sealed, ciphertext: flipped.toString('base64') }, sealer)).rejects.toThrow();
  });
});
