import type { SourceSecretRepository } from '../store/source-secrets';
import { rewrapToken, type KeySealer } from './envelope';

export interface RewrapSummary {
  rewrapped: number;
  alreadyCurrent: number;
  /** Replaced by a reconnect while we worked: the new token is already current. */
  changedMeanwhile: number;
  /** No longer decrypt (or their source is gone): left alone; those sources need a reconnect. */
  unreadable: string[];
}

/**
 * Key rotation: every stored refresh token whose data key was sealed by another key version
 * than `to` seals with now gets its data key re-sealed. Idempotent and resumable: run it
 * again and it skips what is done.
 */
export async function rewrapAll(deps: {
  secrets: SourceSecretRepository;
  ownerOf: (sourceId: string) => Promise<string | null>;
  from: KeySealer;
  to: KeySealer;
  dryRun?: boolean;
}): Promise<RewrapSummary> {
  const summary: RewrapSummary = { rewrapped: 0, alreadyCurrent: 0, changedMeanwhile: 0, unreadable: [] };
  for await (const { sourceId, secret } of deps.secrets.all()) {
    const token = secret.refreshToken;
    if (token === null) continue;
    const userId = await deps.ownerOf(sourceId);
    if (userId === null) {
      summary.unreadable.push(sourceId);
      continue;
    }
    let next;
    try {
      next = await rewrapToken(token, deps.from, deps.to, { sourceId, userId });
    } catch {
      summary.unreadable.push(sourceId);
      continue;
    }
    if (next.keyVersion === token.keyVersion) {
      summary.alreadyCurrent += 1;
      continue;
    }
    if (deps.dryRun === true) summary.rewrapped += 1;
    else if (await deps.secrets.replaceRefreshToken(sourceId, token, next)) summary.rewrapped += 1;
    else summary.changedMeanwhile += 1;
  }
  return summary;
}
