import type { Request, Response } from '@google-cloud/functions-framework';
import * as z from 'zod';
import { applyCalendarChoice, choiceProblems, normalizedSelection } from '../engine/calendar/selection';
import { calendarIdSchema, documentIdSchema, eventRulesSchema, type EventRules, type Source } from '../engine/model';
import { userFor } from './identity';
import type { Services } from './services';

/**
 * connect /calendars (Bearer; a server caller names the owner with `userId`):
 *   GET  ?sourceId=   the source's calendar selection, event rules, and its calendar list
 *                     (id, summary, accessRole, primary) for the app's picker
 *   POST {sourceId, selection, eventRules}   replaces both; 400 names every problem, 404 for
 *                     a source that is not the caller's, 409 for a disconnected one; applied
 *                     at once
 */

const readSchema = z.object({ sourceId: documentIdSchema, userId: documentIdSchema.optional() });
const choiceSchema = z.object({
  sourceId: documentIdSchema,
  userId: documentIdSchema.optional(),
  selection: z.union([z.enum(['primary', 'owned']), z.array(calendarIdSchema).min(1)]),
  // Event types are checked against the known ones by the engine, which names each unknown one.
  eventRules: eventRulesSchema.extend({ excludedTypes: z.array(z.string().min(1).max(64)).max(20).optional() }).optional(),
});

/**
 * The caller's own source (a server caller's named user's), or `null` with the answer sent:
 * someone else's source looks exactly like a missing one (404); a disconnected one is 409, as
 * on the rule routes.
 */
async function ownedSource(req: Request, res: Response, s: Services, input: { sourceId: string; userId?: string | undefined }): Promise<Source | null> {
  const userId = await userFor(req, res, s, input.userId);
  if (userId === null) return null;
  const source = await s.sources.get(input.sourceId);
  if (source === null || source.userId !== userId) {
    res.status(404).json({ error: 'no such source' });
    return null;
  }
  if (source.status === 'disconnected') {
    res.status(409).json({ error: 'the source is disconnected: reconnect it first' });
    return null;
  }
  return source;
}

async function read(req: Request, res: Response, s: Services): Promise<void> {
  const input = readSchema.safeParse(req.query);
  if (!input.success) {
    res.status(400).json({ error: 'expected ?sourceId=' });
    return;
  }
  const source = await ownedSource(req, res, s, input.data);
  if (source === null) return;
  const calendars = await (await s.google.calendar(source)).listCalendars();
  res.status(200).set('Cache-Control', 'no-store').json({ sourceId: source.id, selection: source.calendarSelection, eventRules: source.eventRules, calendars });
}

async function choose(req: Request, res: Response, s: Services): Promise<void> {
  const input = choiceSchema.safeParse(req.body);
  if (!input.success) {
    res.status(400).json({ error: 'expected {"sourceId", "selection": "primary" | "owned" | [calendar ids], "eventRules"}', problems: input.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
    return;
  }
  const source = await ownedSource(req, res, s, input.data);
  if (source === null) return;
  const { selection } = input.data;
  // No `eventRules`: the stored ones stay. Given ones replace them, each field left out taking its default, except the excluded types, which stay.
  const given = input.data.eventRules;
  const requested = given === undefined ? source.eventRules : { ...given, excludedTypes: given.excludedTypes ?? source.eventRules.excludedTypes };
  const list = await (await s.google.calendar(source)).listCalendars();
  const problems = choiceProblems({ selection, eventRules: requested }, list);
  if (problems.length > 0) {
    res.status(400).json({ error: 'the choice cannot be applied; nothing changed', problems });
    return;
  }
  const eventRules: EventRules = eventRulesSchema.parse(requested);
  const deps = { sources: s.sources, tasks: s.tasks, publisher: s.publisher, watchDeps: s.watchDeps, clock: s.clock };
  const updated = await applyCalendarChoice(deps, source, normalizedSelection(selection, list), eventRules, list);
  res.status(200).json({ sourceId: updated.id, selection: updated.calendarSelection, eventRules: updated.eventRules, status: updated.status });
}

export async function calendarsRoute(req: Request, res: Response, s: Services): Promise<void> {
  if (req.method === 'GET') return read(req, res, s);
  if (req.method === 'POST') return choose(req, res, s);
  res.status(405).set('Allow', 'GET, POST').end();
}
