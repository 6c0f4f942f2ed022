import type { Request, Response } from '@google-cloud/functions-framework';
import { z } from 'zod';
import { documentIdSchema } from '../engine/model';

const bodySchema = z.object({ sourceId: documentIdSchema });

/**
 * The internal `POST {sourceId}` endpoints' input: the source id, or `null` once the request
 * has been answered (405 for another method, 400 for any other body).
 */
export function sourceIdFromPost(req: Request, res: Response): string | null {
  if (req.method !== 'POST') {
    res.status(405).set('Allow', 'POST').json({ error: 'use POST' });
    return null;
  }
  const body = bodySchema.safeParse(req.body);
  if (!body.success) {
    res.status(400).json({ error: 'expected a JSON body {"sourceId": "..."}' });
    return null;
  }
  return body.data.sourceId;
}
