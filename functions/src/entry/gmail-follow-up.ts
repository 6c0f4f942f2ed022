import type { Request, Response } from '@google-cloud/functions-framework';
import * as z from 'zod';
import { isGoogleError, isRetryable } from '../engine/errors';
import { calendarIdSchema, documentIdSchema, historyIdSchema, MAX_SELECTED_CALENDARS } from '../engine/model';
import type { RunTrigger } from '../engine/runner/trigger';
import { decidingLabel } from '../engine/gmail/rule';
import { DEFAULT_GMAIL_RULE } from '../engine/gmail-rule-schema';
import type { Services } from './services';
import { postBody } from './source-id-request';
import { LOG_EVENTS } from '../observability/log-events';

/**
 * gmailFollowUp (HTTPS, IAM-only: Cloud Tasks calls it with the invoker account's OIDC
 * token): the scheduled tail look after a Gmail push, POST {sourceId, after?, credentialsAt?,
 * retry?, walkAt?} (where the pass that asked for it got to; `retry` for a look at work that
 * lagged its push, `walkAt` for the look that starts a walk waiting out the lag), or a look at
 * calendars whose listing lagged their push, POST {sourceId, calendars, calendarRetry}. A Gmail
 * look looks at Gmail whatever was announced; a
 * source gone or disconnected meanwhile ends it quietly (2xx, so Cloud Tasks does not retry);
 * a failure retrying can fix answers 503 and Cloud Tasks retries.
 */

const bodySchema = z
  .object({
    sourceId: documentIdSchema,
    after: historyIdSchema.optional(),
    credentialsAt: z.iso.datetime().optional(),
    // Looks queued before intake rules carry none: their rule was the inbox.
    labelId: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/).default(decidingLabel(DEFAULT_GMAIL_RULE)),
    retry: z.number().int().min(1).max(10).optional(),
    calendars: z.array(calendarIdSchema).min(1).max(MAX_SELECTED_CALENDARS).optional(),
    calendarRetry: z.number().int().min(1).max(10).optional(),
    walkAt: z.iso.datetime().optional(),
  })
  .refine((body) => (body.calendars === undefined) === (body.calendarRetry === undefined), 'calendars and calendarRetry come together')
  .refine((body) => body.calendars === undefined || body.after === undefined, 'a look is at Gmail or at calendars')
  .refine((body) => (body.after === undefined) === (body.credentialsAt === undefined), 'after and credentialsAt come together')
  .refine((body) => body.retry === undefined || body.after !== undefined, 'retry comes with after')
  .refine((body) => body.walkAt === undefined || body.after !== undefined, 'walkAt comes with after');

export function gmailFollowUpHandler(services: () => Services) {
  return async (req: Request, res: Response): Promise<void> => {
    const body = postBody(req, res, bodySchema, '{"sourceId": "...", "after": "<history id>", "credentialsAt": "<ISO time>"} (the last two optional, together)');
    if (body === null) return;
    const { sourceId } = body;
    const { runner, logger } = services();
    try {
      const outcome = await runner.run(sourceId, lookTrigger(body));
      logger.debug(LOG_EVENTS.followUpHandled, { sourceId, trigger: 'push', outcome });
      res.status(204).end();
    } catch (error) {
      if (!isRetryable(error)) throw error;
      logger.warn(LOG_EVENTS.followUpFailed, { sourceId, errorClass: isGoogleError(error) ? error.kind : 'lease-outlived' });
      res.status(503).json({ error: 'Try again later' });
    }
  };
}

/**
 * The run a look asks for. Triggered by a push, so a tail it finds is what pushes promise, not
 * a missed push; a Calendar look announces its calendars, as their pushes did.
 */
function lookTrigger(body: z.infer<typeof bodySchema>): RunTrigger {
  const { after, credentialsAt, labelId, retry, walkAt, calendars, calendarRetry } = body;
  if (calendars !== undefined) return { kind: 'announced', trigger: 'push', work: { gmail: null, calendar: false, calendars }, ...(calendarRetry !== undefined && { calendarRetry }) };
  const from =
    after !== undefined && credentialsAt !== undefined
      ? { historyId: after, credentialsAt: new Date(credentialsAt), labelId, ...(retry !== undefined && { retry }), ...(walkAt !== undefined && { walkAt: new Date(walkAt) }) }
      : null;
  return { kind: 'look', trigger: 'push', from };
}
