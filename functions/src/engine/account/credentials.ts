import type { Source } from '../model';
import type { Clock, Logger } from '../ports';
import { credentialsUnreadable } from '../source/decisions';
import type { SourceStore } from '../source/ports';

/** A sealed token that no longer decrypts: the source is disconnected, once, and says why. */
export async function markCredentialsUnreadable(deps: { sources: Pick<SourceStore, 'transition'>; logger: Logger; clock: Clock }, source: Source): Promise<void> {
  await deps.sources.transition(source.id, deps.clock.now(), credentialsUnreadable());
  deps.logger.warn('stored Google credentials no longer decrypt; the source needs a reconnect', { sourceId: source.id, errorClass: 'credentials-unreadable' });
}
