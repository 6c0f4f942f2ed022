import type { SealedToken } from '../../contracts/sealed-token';

/** What connecting, disconnecting and watching an account need: OAuth, sealed tokens, channel secrets. */

export interface SecretStore {
  addChannelTokenHash(sourceId: string, channelId: string, hash: string): Promise<void>;
  channelTokenHash(sourceId: string, channelId: string): Promise<string | null>;
  removeChannelTokenHash(sourceId: string, channelId: string): Promise<void>;
}

/** A connect flow in progress: who started it, in which browser, with which PKCE verifier. */
export interface ConnectState {
  userId: string;
  loginHint: string | null;
  /** SHA-256 of the nonce in the starting browser's cookie. */
  browserNonceHash: string;
  codeVerifier: string;
  createdAt: Date;
  expireAt: Date;
}

/** A grant the callback received, waiting for the host app to confirm it for its signed-in user. */
export interface StagedGrant {
  userId: string;
  email: string;
  sealedToken: SealedToken;
  createdAt: Date;
  expireAt: Date;
}

export interface ConnectStateStore {
  save(state: string, entry: ConnectState): Promise<void>;
  /**
   * Deletes the state and returns it, or null when unknown, already used or expired; a state
   * that `accept` refuses is left as it was (and null returned).
   */
  consume(state: string, now: Date, accept?: (entry: ConnectState) => boolean): Promise<ConnectState | null>;
  stage(linkId: string, grant: StagedGrant): Promise<void>;
  /** The staged grant when it belongs to `userId` and is still valid; `consume` also deletes it. */
  staged(linkId: string, userId: string, now: Date, consume: boolean): Promise<StagedGrant | null>;
}

/** Google's OAuth consent, code exchange (PKCE) and revocation, for the connect flow. */
export interface OAuthFlow {
  consentUrl(request: { state: string; loginHint: string | null; codeChallenge: string }): string;
  /** Exchanges a code; `null` when Google refuses it (invalid, reused, expired, wrong verifier). */
  exchangeCode(code: string, codeVerifier: string): Promise<{ refreshToken: string | null; accessToken: string } | null>;
  /** The address of the account an access token belongs to. */
  accountEmail(accessToken: string): Promise<string>;
  /** Ends the grant at Google (all tokens of that account for our client). */
  revoke(token: string): Promise<void>;
}

/** Refresh tokens: sealing needs only encryption; loading (for revocation) needs decryption. */
export interface RefreshTokenStore {
  seal(owner: { sourceId: string; userId: string }, refreshToken: string): Promise<SealedToken>;
  storeSealed(sourceId: string, sealed: SealedToken): Promise<void>;
  load(source: { id: string; userId: string }): Promise<string>;
}

export interface SecretDeletion {
  delete(sourceId: string): Promise<void>;
}
