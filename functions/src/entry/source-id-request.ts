import type { Request, Response } from '@google-cloud/functions-framework';
import * as z from 'zod';
import { documentIdSchema } from '../engine/model';

const bodySchema = z.object({ sourceId: documentIdSchema });

/**
 * An internal POST endpoint's JSON body as `schema` reads it, or `null` once the request has
 * been answered (405 for another method, 400 for any other body, naming what was expected).
 */
export function postBody<T extends z.ZodType>(req: Request, res: Response, schema: T, expected: string): z.infer<T> | null {
  if (req.method !== 'POST') {
    res.status(405).set('Allow', 'POST').json({ error: 'use POST' });
    return null;
  }
  const body = schema.safeParse(req.body);
  if (!body.success) {
    res.status(400).json({ error: `expected a JSON body ${expected}` });
    return null;
  }
  return body.data;
}

/** The internal `POST {sourceId}` endpoints' input: the source id, or `null` once answered. */
export function sourceIdFromPost(req: Request, res: Response): string | null {
  return postBody(req, res, bodySchema, '{"sourceId": "..."}')?.sourceId ?? null;
}
