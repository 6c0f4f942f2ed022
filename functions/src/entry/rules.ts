import * as z from 'zod';
import { listLabels, readRule, replaceRule, type RuleDeps } from '../engine/account/rules';
import { documentIdSchema } from '../engine/model';
import { userFor, type Handler } from './identity';
import type { Services } from './services';
import { LOG_EVENTS } from '../observability/log-events';

/**
 * The `connect` function's routes for a source's Gmail intake rule (Bearer: the owner's
 * Firebase ID token; a server caller adds `userId`):
 *   GET /rules?sourceId=…    the rule and its version
 *   PUT /rules?sourceId=…    a new rule (JSON body): 200 with the new version; 400 naming
 *                            every problem; 404 for a source that is not the caller's
 *   GET /labels?sourceId=…   the account's labels (id, name, type), for a picker
 */

export type RuleRoute = 'rules' | 'labels';

const querySchema = z.object({ sourceId: documentIdSchema, userId: documentIdSchema.optional() });

export function ruleDeps(s: Services): RuleDeps {
  return { sources: s.sources, google: s.google, clock: s.clock, watchDeps: s.watchDeps, publisher: s.publisher };
}

const NOT_FOUND = { error: 'no such source' };
const DISCONNECTED = { error: 'the source is disconnected: reconnect it first' };

/** The source and acting user a request names, or `null` once the request has been answered. */
async function target(req: Parameters<Handler>[0], res: Parameters<Handler>[1], s: Services): Promise<{ sourceId: string; userId: string } | null> {
  const query = querySchema.safeParse(req.query);
  if (!query.success) {
    res.status(400).json({ error: 'expected ?sourceId=<source id> (and, for a server caller, &userId=<owner>)' });
    return null;
  }
  const userId = await userFor(req, res, s, query.data.userId);
  return userId === null ? null : { sourceId: query.data.sourceId, userId };
}

const rules: Handler = async (req, res, s) => {
  const input = await target(req, res, s);
  if (input === null) return;
  if (req.method === 'GET') {
    const read = await readRule(ruleDeps(s), input);
    if (read.ok) res.status(200).set('Cache-Control', 'no-store').json(read.value);
    else res.status(404).json(NOT_FOUND);
    return;
  }
  const replaced = await replaceRule(ruleDeps(s), { ...input, body: req.body as unknown });
  if (replaced.ok) {
    s.logger.info(LOG_EVENTS.gmailRuleReplaced, { sourceId: input.sourceId, version: replaced.value.version });
    res.status(200).json(replaced.value);
  } else if (replaced.why === 'invalid') res.status(400).json({ error: 'the rule was not changed', problems: replaced.problems });
  else if (replaced.why === 'disconnected') res.status(409).json(DISCONNECTED);
  else res.status(404).json(NOT_FOUND);
};

const labels: Handler = async (req, res, s) => {
  const input = await target(req, res, s);
  if (input === null) return;
  const listed = await listLabels(ruleDeps(s), input);
  if (listed.ok) res.status(200).set('Cache-Control', 'no-store').json({ labels: listed.value });
  else if (listed.why === 'disconnected') res.status(409).json(DISCONNECTED);
  else res.status(404).json(NOT_FOUND);
};

export const RULE_ROUTES: Record<RuleRoute, { methods: readonly string[]; handle: Handler }> = {
  rules: { methods: ['GET', 'PUT'], handle: rules },
  labels: { methods: ['GET'], handle: labels },
};
