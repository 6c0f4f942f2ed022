import type { Request, Response } from '@google-cloud/functions-framework';
import { isGoogleError } from '../engine/errors';
import { registerWatches, SourceUnavailableError } from '../engine/account/watches';
import type { Services } from './services';
import { sourceIdFromPost } from './source-id-request';
import { LOG_EVENTS } from '../observability/log-events';

/** registerWatch (HTTPS, internal, IAM-authenticated): POST {sourceId} sets the watches. */

export function registerWatchHandler(services: () => Services) {
  return async (req: Request, res: Response): Promise<void> => {
    const sourceId = sourceIdFromPost(req, res);
    if (sourceId === null) return;
    const { watchDeps, logger } = services();
    try {
      const source = await registerWatches(watchDeps, sourceId);
      const expirations = {
        watchExpiration: source.watchExpiration?.toISOString() ?? null,
        calendarChannelExpiration: source.calendarChannelExpiration?.toISOString() ?? null,
      };
      logger.info(LOG_EVENTS.watchesRegistered, { sourceId: source.id, trigger: 'manual', ...expirations });
      res.status(200).json({ sourceId: source.id, status: source.status, ...expirations });
    } catch (error) {
      if (error instanceof SourceUnavailableError) {
        res.status(error.why === 'missing' ? 404 : 409).json({ error: error.message });
        return;
      }
      if (isGoogleError(error)) {
        logger.error(LOG_EVENTS.watchRegistrationFailed, { sourceId, errorClass: error.kind, status: error.details.status });
        res.status(error.transient ? 503 : 502).json({ error: `Google refused the watch (${error.kind})` });
        return;
      }
      throw error;
    }
  };
}
