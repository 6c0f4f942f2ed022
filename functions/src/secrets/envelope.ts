import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { SealedToken } from '../contracts/sealed-token';

/**
 * Envelope encryption for refresh tokens: each token is encrypted (AES-256-GCM) under a fresh
 * data key, and only the data key, sealed by a key-encryption key, is stored beside it. The
 * sealer is Cloud KMS in production and a local key in local runs and tests; everything else
 * is the same code path.
 *
 * Both layers carry the same additional authenticated data, `sourceId|userId|v1`: a sealed
 * token copied onto another source or user does not decrypt. GCM tags must be 16 bytes.
 */

export interface KeySealer {
  /** Seals a data key; `keyVersion` names the key (version) that did it, for rotation. */
  seal(dataKey: Buffer, aad: Buffer): Promise<{ sealedKey: string; keyVersion: string }>;
  unseal(sealedKey: string, aad: Buffer): Promise<Buffer>;
}

export interface TokenOwner {
  sourceId: string;
  userId: string;
}

const TAG_BYTES = 16;
const IV_BYTES = 12;

/** What both layers authenticate: the token belongs to this source of this user. */
export function tokenAad(owner: TokenOwner): Buffer {
  return Buffer.from(`${owner.sourceId}|${owner.userId}|v1`, 'utf8');
}

function aesGcmEncrypt(key: Buffer, plaintext: Buffer, aad: Buffer): { iv: Buffer; ciphertext: Buffer; tag: Buffer } {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, ciphertext, tag: cipher.getAuthTag() };
}

function aesGcmDecrypt(key: Buffer, iv: Buffer, ciphertext: Buffer, tag: Buffer, aad: Buffer): Buffer {
  // A truncated tag would weaken the check: only full 16-byte tags are accepted.
  if (tag.length !== TAG_BYTES || iv.length !== IV_BYTES) throw new Error('malformed sealed value');
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
}

/** Seals data keys with a 32-byte key from configuration (local runs and tests). */
export class LocalKeySealer implements KeySealer {
  /** A fingerprint of the key, so that a rotation can tell which tokens it already re-wrapped. */
  private readonly keyVersion: string;

  constructor(private readonly keyEncryptionKey: Buffer) {
    if (keyEncryptionKey.length !== 32) throw new Error('the local token key must be 32 bytes');
    this.keyVersion = `local:${createHash('sha256').update(keyEncryptionKey).digest('hex').slice(0, 12)}`;
  }

  seal(dataKey: Buffer, aad: Buffer): Promise<{ sealedKey: string; keyVersion: string }> {
    const { iv, ciphertext, tag } = aesGcmEncrypt(this.keyEncryptionKey, dataKey, aad);
    return Promise.resolve({ sealedKey: Buffer.concat([iv, tag, ciphertext]).toString('base64'), keyVersion: this.keyVersion });
  }

  unseal(sealedKey: string, aad: Buffer): Promise<Buffer> {
    const raw = Buffer.from(sealedKey, 'base64');
    const tagEnd = IV_BYTES + TAG_BYTES;
    // A failure rejects the promise (as KMS's would) instead of throwing synchronously.
    return new Promise((resolve) => resolve(aesGcmDecrypt(this.keyEncryptionKey, raw.subarray(0, IV_BYTES), raw.subarray(tagEnd), raw.subarray(IV_BYTES, tagEnd), aad)));
  }
}

export async function encryptToken(plaintext: string, sealer: KeySealer, owner: TokenOwner): Promise<SealedToken> {
  const aad = tokenAad(owner);
  const dataKey = randomBytes(32);
  try {
    const { iv, ciphertext, tag } = aesGcmEncrypt(dataKey, Buffer.from(plaintext, 'utf8'), aad);
    const { sealedKey, keyVersion } = await sealer.seal(dataKey, aad);
    return { ciphertext: ciphertext.toString('base64'), sealedKey, keyVersion, iv: iv.toString('base64'), tag: tag.toString('base64') };
  } finally {
    dataKey.fill(0);
  }
}

export async function decryptToken(token: SealedToken, sealer: KeySealer, owner: TokenOwner): Promise<string> {
  const aad = tokenAad(owner);
  const dataKey = await sealer.unseal(token.sealedKey, aad);
  try {
    return aesGcmDecrypt(dataKey, Buffer.from(token.iv, 'base64'), Buffer.from(token.ciphertext, 'base64'), Buffer.from(token.tag, 'base64'), aad).toString('utf8');
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Key rotation: the same data key, unsealed by `from` and sealed again by `to` (with Cloud
 * KMS both are the same key: it decrypts with whichever version sealed, and encrypts with the
 * current primary). The token's own ciphertext is untouched.
 */
export async function rewrapToken(token: SealedToken, from: KeySealer, to: KeySealer, owner: TokenOwner): Promise<SealedToken> {
  const aad = tokenAad(owner);
  const dataKey = await from.unseal(token.sealedKey, aad);
  try {
    const { sealedKey, keyVersion } = await to.seal(dataKey, aad);
    return { ...token, sealedKey, keyVersion };
  } finally {
    dataKey.fill(0);
  }
}
