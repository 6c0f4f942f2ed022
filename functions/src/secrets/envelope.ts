import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SourceSecret } from '../engine/model';

/**
 * Envelope encryption for refresh tokens: each token is encrypted (AES-256-GCM) under a fresh
 * data key, and only the data key, sealed by a key-encryption key, is stored beside it. The
 * sealer is Cloud KMS in production and a local key in local runs and tests; everything else
 * is the same code path.
 */

export interface KeySealer {
  seal(dataKey: Buffer): Promise<string>;
  unseal(sealedKey: string): Promise<Buffer>;
}

export type EncryptedToken = NonNullable<SourceSecret['refreshToken']>;

function aesGcmEncrypt(key: Buffer, plaintext: Buffer): { iv: Buffer; ciphertext: Buffer; tag: Buffer } {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, ciphertext, tag: cipher.getAuthTag() };
}

function aesGcmDecrypt(key: Buffer, iv: Buffer, ciphertext: Buffer, tag: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

/** Seals data keys with a 32-byte key from configuration (local runs and tests). */
export class LocalKeySealer implements KeySealer {
  constructor(private readonly keyEncryptionKey: Buffer) {
    if (keyEncryptionKey.length !== 32) throw new Error('the local token key must be 32 bytes');
  }

  seal(dataKey: Buffer): Promise<string> {
    const { iv, ciphertext, tag } = aesGcmEncrypt(this.keyEncryptionKey, dataKey);
    return Promise.resolve(Buffer.concat([iv, tag, ciphertext]).toString('base64'));
  }

  unseal(sealedKey: string): Promise<Buffer> {
    const raw = Buffer.from(sealedKey, 'base64');
    return Promise.resolve(aesGcmDecrypt(this.keyEncryptionKey, raw.subarray(0, 12), raw.subarray(28), raw.subarray(12, 28)));
  }
}

export async function encryptToken(plaintext: string, sealer: KeySealer): Promise<EncryptedToken> {
  const dataKey = randomBytes(32);
  const { iv, ciphertext, tag } = aesGcmEncrypt(dataKey, Buffer.from(plaintext, 'utf8'));
  const sealedKey = await sealer.seal(dataKey);
  dataKey.fill(0);
  return { ciphertext: ciphertext.toString('base64'), sealedKey, iv: iv.toString('base64'), tag: tag.toString('base64') };
}

export async function decryptToken(token: EncryptedToken, sealer: KeySealer): Promise<string> {
  const dataKey = await sealer.unseal(token.sealedKey);
  try {
    return aesGcmDecrypt(dataKey, Buffer.from(token.iv, 'base64'), Buffer.from(token.ciphertext, 'base64'), Buffer.from(token.tag, 'base64')).toString('utf8');
  } finally {
    dataKey.fill(0);
  }
}
