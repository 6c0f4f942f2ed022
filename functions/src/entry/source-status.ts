import type { Request, Response } from '@google-cloud/functions-framework';
import { z } from 'zod';
import { documentIdSchema } from '../engine/model';
import { sourceStatusView } from '../engine/source-status';
import type { Services } from './services';
import { renderStatusPage } from './status-page';

/**
 * sourceStatus (HTTPS): GET ?userId=… → each of the user's sources as JSON, or, for
 * `Accept: text/html`, the live status page. Deployed behind IAM: the task app's backend (or
 * an operator) calls it; it does not authenticate end users itself.
 */

const querySchema = z.object({ userId: documentIdSchema });
const REFRESH_MS = 3000;

export function sourceStatusHandler(services: () => Services) {
  return async (req: Request, res: Response): Promise<void> => {
    if (req.method !== 'GET') {
      res.status(405).set('Allow', 'GET').end();
      return;
    }
    const query = querySchema.safeParse(req.query);
    if (!query.success) {
      res.status(400).json({ error: 'expected ?userId=…' });
      return;
    }
    const { sources, clock, statusSettings } = services();
    const now = clock.now();
    const views = (await sources.listByUser(query.data.userId))
      .map((s) => sourceStatusView(s, now, statusSettings))
      .sort((a, b) => a.email.localeCompare(b.email));
    res.set('Cache-Control', 'no-store');
    if (req.accepts(['application/json', 'text/html']) === 'text/html') {
      res.status(200).type('html').send(renderStatusPage(query.data.userId, views, now, REFRESH_MS));
      return;
    }
    res.status(200).json({ userId: query.data.userId, now: now.toISOString(), sources: views });
  };
}
