import type { Request, Response } from '@google-cloud/functions-framework';
import { isGoogleError } from '../engine/errors';
import type { Services } from './services';
import { sourceIdFromPost } from './source-id-request';

/**
 * gmailFollowUp (HTTPS, IAM-only: Cloud Tasks calls it with the invoker account's OIDC
 * token): the scheduled tail look after a Gmail push, POST {sourceId}. It looks at Gmail
 * whatever was announced; a source gone or disconnected meanwhile ends it quietly (2xx, so
 * Cloud Tasks does not retry); a transient failure answers 503 and Cloud Tasks retries.
 */

export function gmailFollowUpHandler(services: () => Services) {
  return async (req: Request, res: Response): Promise<void> => {
    const sourceId = sourceIdFromPost(req, res);
    if (sourceId === null) return;
    const { runner, logger } = services();
    try {
      // Triggered by a push, so a tail it finds is what pushes promise, not a missed push.
      const outcome = await runner.handle(sourceId, { gmail: null, calendar: false }, { trigger: 'push', checkGmail: true, onlyIfGmailChanged: true });
      logger.debug('gmail follow-up handled', { sourceId, trigger: 'push', outcome });
      res.status(204).end();
    } catch (error) {
      if (!isGoogleError(error) || !error.transient) throw error;
      logger.warn('gmail follow-up failed, Cloud Tasks retries it', { sourceId, errorClass: error.kind });
      res.status(503).json({ error: 'Google is unavailable; retry later' });
    }
  };
}
