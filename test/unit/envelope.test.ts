import { decryptToken, encryptToken, LocalKeySealer, rewrapToken, tokenAad } from '../../functions/src/secrets/envelope';
import { crc32c } from '../../functions/src/secrets/crc32c';
import { KmsIntegrityError, KmsKeySealer, type KmsClient } from '../../functions/src/secrets/kms-sealer';

const owner = { sourceId: 'src_1', userId: 'user-1' };
const keyName = 'projects/p/locations/global/keyRings/r/cryptoKeys/refresh-tokens';

/**
 * A stand-in for Cloud KMS's encrypt/decrypt with its integrity fields: a keyed AES sealer
 * behind the client's shape, checking the request checksums as KMS does. `corrupt` flips a
 * byte in transit to show that the sealer notices.
 */
function fakeKms(options: { corrupt?: 'encrypt-response' | 'decrypt-response' | 'unverified-request'; version?: string } = {}): KmsClient & { calls: string[] } {
  const inner = new LocalKeySealer(Buffer.alloc(32, 9));
  const calls: string[] = [];
  const flip = (b: Buffer) => Buffer.from(b.map((x, i) => (i === 0 ? x ^ 1 : x)));
  return {
    calls,
    async encrypt(request) {
      calls.push(`encrypt ${request.name}`);
      const verified = crc32c(request.plaintext) === request.plaintextCrc32c.value && crc32c(request.additionalAuthenticatedData) === request.additionalAuthenticatedDataCrc32c.value;
      const ciphertext = Buffer.from((await inner.seal(request.plaintext, request.additionalAuthenticatedData)).sealedKey, 'base64');
      return [{
        name: `${request.name}/cryptoKeyVersions/${options.version ?? '1'}`,
        ciphertext: options.corrupt === 'encrypt-response' ? flip(ciphertext) : ciphertext,
        ciphertextCrc32c: { value: crc32c(ciphertext) },
        verifiedPlaintextCrc32c: verified && options.corrupt !== 'unverified-request',
        verifiedAdditionalAuthenticatedDataCrc32c: verified,
      }];
    },
    async decrypt(request) {
      calls.push(`decrypt ${request.name}`);
      if (crc32c(request.ciphertext) !== request.ciphertextCrc32c.value) throw Object.assign(new Error('checksum mismatch'), { code: 3 });
      const plaintext = await inner.unseal(request.ciphertext.toString('base64'), request.additionalAuthenticatedData);
      return [{ plaintext: options.corrupt === 'decrypt-response' ? flip(plaintext) : plaintext, plaintextCrc32c: { value: crc32c(plaintext) } }];
    },
  };
}

describe('envelope encryption of refresh tokens', () => {
  const token = '1//refresh-token-plaintext';

  it('round-trips with the local key and never carries the plaintext', async () => {
    const sealer = new LocalKeySealer(Buffer.alloc(32, 3));
    const sealed = await encryptToken(token, sealer, owner);
    expect(JSON.stringify(sealed)).not.toContain(token);
    expect(await decryptToken(sealed, sealer, owner)).toBe(token);
    await expect(decryptToken(sealed, new LocalKeySealer(Buffer.alloc(32, 4)), owner)).rejects.toThrow();
  });

  it('binds the ciphertext to its source and user (AAD sourceId|userId|v1 on token and data key)', async () => {
    const sealer = new LocalKeySealer(Buffer.alloc(32, 3));
    const sealed = await encryptToken(token, sealer, owner);
    expect(tokenAad(owner).toString()).toBe('src_1|user-1|v1');
    await expect(decryptToken(sealed, sealer, { ...owner, sourceId: 'src_2' })).rejects.toThrow();
    await expect(decryptToken(sealed, sealer, { ...owner, userId: 'user-2' })).rejects.toThrow();
    // The data key alone is bound too: unsealing it for another owner fails.
    await expect(sealer.unseal(sealed.sealedKey, tokenAad({ ...owner, userId: 'user-2' }))).rejects.toThrow();
  });

  it('refuses truncated GCM tags', async () => {
    const sealer = new LocalKeySealer(Buffer.alloc(32, 3));
    const sealed = await encryptToken(token, sealer, owner);
    const short = Buffer.from(sealed.tag, 'base64').subarray(0, 4).toString('base64');
    await expect(decryptToken({ ...sealed, tag: short }, sealer, owner)).rejects.toThrow();
  });

  it('uses a fresh data key per token', async () => {
    const sealer = new LocalKeySealer(Buffer.alloc(32, 3));
    const [a, b] = [await encryptToken(token, sealer, owner), await encryptToken(token, sealer, owner)];
    expect(a.sealedKey).not.toBe(b.sealedKey);
    expect(a.ciphertext).not.toBe(b.ciphertext);
  });

  it('seals data keys through Cloud KMS with CRC32C both ways and records the key version', async () => {
    const kms = fakeKms({ version: '7' });
    const sealer = new KmsKeySealer(keyName, kms);
    const sealed = await encryptToken(token, sealer, owner);
    expect(sealed.keyVersion).toBe(`${keyName}/cryptoKeyVersions/7`);
    expect(await decryptToken(sealed, sealer, owner)).toBe(token);
    expect(kms.calls).toEqual([`encrypt ${keyName}`, `decrypt ${keyName}`]);
  });

  it.each(['encrypt-response', 'unverified-request'] as const)('refuses a KMS encrypt whose %s fails its checksum', async (corrupt) => {
    await expect(encryptToken(token, new KmsKeySealer(keyName, fakeKms({ corrupt })), owner)).rejects.toThrow(KmsIntegrityError);
  });

  it('refuses a KMS decrypt whose response fails its checksum', async () => {
    const sealed = await encryptToken(token, new KmsKeySealer(keyName, fakeKms()), owner);
    await expect(decryptToken(sealed, new KmsKeySealer(keyName, fakeKms({ corrupt: 'decrypt-response' })), owner)).rejects.toThrow(KmsIntegrityError);
  });

  it('re-wraps the data key under the current key version; the token still decrypts', async () => {
    const sealed = await encryptToken(token, new KmsKeySealer(keyName, fakeKms({ version: '1' })), owner);
    const kms = new KmsKeySealer(keyName, fakeKms({ version: '2' }));
    const rewrapped = await rewrapToken(sealed, kms, kms, owner);
    expect(rewrapped.keyVersion).toBe(`${keyName}/cryptoKeyVersions/2`);
    expect(rewrapped.ciphertext).toBe(sealed.ciphertext);
    expect(await decryptToken(rewrapped, new KmsKeySealer(keyName, fakeKms()), owner)).toBe(token);
  });

  it('computes CRC32C (Castagnoli)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('refuses a tampered ciphertext', async () => {
    const sealer = new LocalKeySealer(Buffer.alloc(32, 3));
    const sealed = await encryptToken(token, sealer, owner);
    const flipped = Buffer.from(sealed.ciphertext, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    await expect(decryptToken({ ...sealed, ciphertext: flipped.toString('base64') }, sealer, owner)).rejects.toThrow();
  });
});
