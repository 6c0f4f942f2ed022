import type { Request, Response } from '@google-cloud/functions-framework';
import { z } from 'zod';
import { isGoogleError } from '../engine/errors';
import { documentIdSchema } from '../engine/model';
import type { Services } from './services';

/**
 * gmailFollowUp (HTTPS, IAM-only: Cloud Tasks calls it with the invoker account's OIDC
 * token): the scheduled tail look after a Gmail push, POST {sourceId}. It looks at Gmail
 * whatever was announced; a source gone or disconnected meanwhile ends it quietly (2xx, so
 * Cloud Tasks does not retry); a transient failure answers 503 and Cloud Tasks retries.
 */

const bodySchema = z.object({ sourceId: documentIdSchema });

export function gmailFollowUpHandler(services: () => Services) {
  return async (req: Request, res: Response): Promise<void> => {
    if (req.method !== 'POST') {
      res.status(405).set('Allow', 'POST').json({ error: 'use POST' });
      return;
    }
    const body = bodySchema.safeParse(req.body);
    if (!body.success) {
      res.status(400).json({ error: 'expected a JSON body {"sourceId": "..."}' });
      return;
    }
    const { runner, logger } = services();
    const { sourceId } = body.data;
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
