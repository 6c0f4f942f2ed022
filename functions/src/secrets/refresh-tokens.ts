import { CredentialsUnavailableError } from '../engine/errors';
import type { SourceSecretRepository } from '../store/source-secrets';
import { decryptToken, encryptToken, type KeySealer, type TokenOwner } from './envelope';
import type { SealedToken } from '../contracts/sealed-token';

/**
 * Refresh tokens at rest: only ciphertext and a sealed data key ever reach Firestore, bound
 * to their source and user. Sealing needs only the key's encrypt permission (the connect
 * callback's account); loading needs decrypt (the sync account).
 */
/** The source a token belongs to: its id and owner are bound into the ciphertext. */
export type TokenSource = { id: string; userId: string };

export class RefreshTokenVault {
  constructor(
    private readonly secrets: SourceSecretRepository,
    private readonly sealer: KeySealer,
    /** The owner of a source, for callers that know only its id. */
    private readonly ownerOf: (sourceId: string) => Promise<string | null>,
  ) {}

  seal(owner: TokenOwner, refreshToken: string): Promise<SealedToken> {
    return encryptToken(refreshToken, this.sealer, owner);
  }

  /** Stores a sealed token, touching only that field (channel token hashes written meanwhile stay). */
  async storeSealed(sourceId: string, sealed: SealedToken): Promise<void> {
    await this.secrets.putRefreshToken(sourceId, sealed);
  }

  async store(sourceId: string, refreshToken: string): Promise<void> {
    const userId = await this.ownerOf(sourceId);
    if (userId === null) throw new Error(`Source ${sourceId} does not exist`);
    await this.storeSealed(sourceId, await this.seal({ sourceId, userId }, refreshToken));
  }

  /** The plaintext token (see `sealed` and `open`). */
  async load(source: TokenSource): Promise<string> {
    return this.open(source, await this.sealed(source));
  }

  /**
   * The token as stored; its ciphertext identifies it, so callers can cache what `open` gives.
   * Throws CredentialsUnavailableError `removed` when there is none (the user disconnected).
   */
  async sealed(source: TokenSource): Promise<SealedToken> {
    const secret = await this.secrets.get(source.id);
    if (!secret?.refreshToken) throw new CredentialsUnavailableError(source.id, 'removed');
    return secret.refreshToken;
  }

  /**
   * Decrypts (in production: a KMS call). Throws CredentialsUnavailableError `unreadable` when
   * it no longer decrypts (wrong key, tampered, or copied from another source): neither that
   * nor a missing token is helped by retrying.
   */
  async open(source: TokenSource, sealed: SealedToken): Promise<string> {
    try {
      return await decryptToken(sealed, this.sealer, { sourceId: source.id, userId: source.userId });
    } catch (error) {
      if (isDecryptionFailure(error)) throw new CredentialsUnavailableError(source.id, 'unreadable');
      throw error;
    }
  }
}

/** GCM authentication failures and KMS's refusal of a ciphertext (INVALID_ARGUMENT); anything else may be transient. */
function isDecryptionFailure(error: unknown): boolean {
  // Not `instanceof Error`: crypto's errors may come from another realm (vm contexts, tests).
  if (typeof error !== 'object' || error === null) return false;
  const { message, code } = error as { message?: unknown; code?: unknown };
  return (typeof message === 'string' && /unable to authenticate data|malformed sealed value/i.test(message)) || code === 3;
}
