import type { Source } from '../model';
import type { Clock, Logger } from '../ports';
import { credentialsUnreadable } from '../source/decisions';
import type { SourceStore } from '../source/ports';
import { LOG_EVENTS } from '../../observability/log-events';

/** A sealed token that no longer decrypts: the source is disconnected, once, and says why. */
export async function markCredentialsUnreadable(deps: { sources: Pick<SourceStore, 'transition'>; logger: Logger; clock: Clock }, source: Source): Promise<void> {
  await deps.sources.transition(source.id, deps.clock.now(), credentialsUnreadable());
  deps.logger.warn(LOG_EVENTS.credentialsUnreadable, { sourceId: source.id, errorClass: 'credentials-unreadable' });
}
