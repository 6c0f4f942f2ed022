import type { SourceSecretRepository } from '../store/source-secrets';
import { decryptToken, encryptToken, type EncryptedToken, type KeySealer } from './envelope';

export class MissingRefreshTokenError extends Error {
  constructor(readonly sourceId: string) {
    super(`Source ${sourceId} has no stored refresh token`);
    this.name = 'MissingRefreshTokenError';
  }
}

/** Refresh tokens at rest: only ciphertext and a sealed data key ever reach Firestore. */
export class RefreshTokenVault {
  constructor(
    private readonly secrets: SourceSecretRepository,
    private readonly sealer: KeySealer,
  ) {}

  async store(sourceId: string, refreshToken: string): Promise<void> {
    const existing = await this.secrets.get(sourceId);
    await this.secrets.put(sourceId, {
      channelTokenHashes: existing?.channelTokenHashes ?? {},
      refreshToken: await encryptToken(refreshToken, this.sealer),
    });
  }

  async load(sourceId: string): Promise<string> {
    return this.open(await this.sealed(sourceId));
  }

  /** The token as stored; its ciphertext identifies it, so callers can cache what `open` gives. */
  async sealed(sourceId: string): Promise<EncryptedToken> {
    const secret = await this.secrets.get(sourceId);
    if (!secret?.refreshToken) throw new MissingRefreshTokenError(sourceId);
    return secret.refreshToken;
  }

  /** Decrypts (in production: a KMS call). */
  open(sealed: EncryptedToken): Promise<string> {
    return decryptToken(sealed, this.sealer);
  }
}
