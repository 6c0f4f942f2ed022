import { randomUUID } from 'node:crypto';
import type { Source } from './model';
import type { Clock, GoogleAccess, SourceStore } from './ports';
import { withStatus } from './status';

export class SourceUnavailableError extends Error {
  constructor(readonly sourceId: string, readonly why: 'missing' | 'disconnected') {
    super(`Source ${sourceId} is ${why}`);
    this.name = 'SourceUnavailableError';
  }
}

/**
 * Registers (or re-registers) the Gmail watch on INBOX. The watch's history id becomes the
 * cursor only when the source has none: moving an existing cursor forward here would skip
 * changes that no run has synced yet.
 */
export async function registerGmailWatch(
  deps: { sources: SourceStore; google: GoogleAccess; clock: Clock; gmailTopic: string },
  sourceId: string,
): Promise<Source> {
  const source = await deps.sources.get(sourceId);
  if (!source) throw new SourceUnavailableError(sourceId, 'missing');
  if (source.status === 'disconnected') throw new SourceUnavailableError(sourceId, 'disconnected');
  const gmail = await deps.google.gmail(source);
  const watch = await gmail.watch(deps.gmailTopic, ['INBOX']);
  const now = deps.clock.now();
  return deps.sources.update(sourceId, now, (current) =>
    withStatus(
      {
        ...current,
        watchId: randomUUID(),
        watchExpiration: watch.expiration,
        historyId: current.historyId ?? watch.historyId,
      },
      now,
    ),
  );
}
