import type { Request, Response } from '@google-cloud/functions-framework';
import { z } from 'zod';
import { documentIdSchema } from '../engine/model';
import { disconnectSource, finishConnect, startConnect, type ConnectDeps } from '../engine/connect';
import type { Services } from './services';

/**
 * connect (HTTPS): `/start` (a user id → redirect to Google's consent page), `/callback`
 * (Google sends the user back with `code` and `state`), `/disconnect` (`POST {sourceId}`).
 *
 * In production `start` and `disconnect` are called by the task app's backend or an operator
 * through Cloud IAM, so this code trusts their user id; the browser-facing callback is
 * deployed separately without IAM (`routes: ['callback']`) and trusts nothing but the state.
 */

export type ConnectRoute = 'start' | 'callback' | 'disconnect';
const ALL_ROUTES: ConnectRoute[] = ['start', 'callback', 'disconnect'];
const STATE_TTL_MS = 10 * 60_000;

const startSchema = z.object({ userId: documentIdSchema, loginHint: z.email().max(320).optional() });
const callbackSchema = z.union([
  z.object({ state: z.string().min(16).max(200), code: z.string().min(1).max(2000) }),
  z.object({ state: z.string().min(16).max(200), error: z.string().min(1).max(200) }),
]);
const disconnectSchema = z.object({ sourceId: documentIdSchema });

export function connectDeps(s: Services): ConnectDeps {
  return {
    states: s.connectStates,
    oauth: s.oauthFlow,
    sources: s.sources,
    tokens: s.vault,
    secrets: s.secrets,
    watchDeps: s.watchDeps,
    clock: s.clock,
    stateTtlMs: STATE_TTL_MS,
  };
}

function routeOf(req: Request): string {
  return req.path.replace(/\/+$/, '').split('/').pop() ?? '';
}

function withParams(base: string, params: Record<string, string>): string {
  const url = new URL(base);
  Object.entries(params).forEach(([k, v]) => url.searchParams.set(k, v));
  return url.toString();
}

export function connectHandler(services: () => Services, routes: ConnectRoute[] = ALL_ROUTES) {
  return async (req: Request, res: Response): Promise<void> => {
    const route = routeOf(req) as ConnectRoute;
    if (!routes.includes(route)) {
      res.status(404).json({ error: `no route /${route}; this deployment serves ${routes.map((r) => `/${r}`).join(', ')}` });
      return;
    }
    const s = services();
    const deps = connectDeps(s);

    if (route === 'start') {
      const input = startSchema.safeParse(req.method === 'POST' ? req.body : req.query);
      if (!input.success) {
        res.status(400).json({ error: 'expected userId (and optionally loginHint)' });
        return;
      }
      const consentUrl = await startConnect(deps, input.data.userId, input.data.loginHint ?? null);
      s.logger.info('connect started', { trigger: 'manual' });
      res.redirect(302, consentUrl);
      return;
    }

    if (route === 'callback') {
      const input = callbackSchema.safeParse(req.query);
      if (!input.success) {
        res.status(400).type('text').send('This sign-in link is incomplete. Start connecting again from the app.');
        return;
      }
      if ('error' in input.data) {
        // The user declined: the state is spent, nothing is stored.
        await deps.states.consume(input.data.state, s.clock.now());
        res.redirect(302, withParams(s.config.connect.returnUrl, { status: 'denied' }));
        return;
      }
      const result = await finishConnect(deps, input.data);
      if (!result.ok) {
        s.logger.warn('connect callback refused', { reason: result.reason });
        res.status(400).type('text').send('This sign-in link is invalid, already used or expired. Start connecting again from the app.');
        return;
      }
      s.logger.info('account connected', { sourceId: result.sourceId, created: result.created });
      res.redirect(302, withParams(s.config.connect.returnUrl, { status: 'connected', sourceId: result.sourceId }));
      return;
    }

    if (req.method !== 'POST') {
      res.status(405).set('Allow', 'POST').end();
      return;
    }
    const input = disconnectSchema.safeParse(req.body);
    if (!input.success) {
      res.status(400).json({ error: 'expected a JSON body {"sourceId": "..."}' });
      return;
    }
    const source = await disconnectSource(deps, input.data.sourceId);
    if (!source) {
      res.status(404).json({ error: 'no such source' });
      return;
    }
    s.logger.info('account disconnected', { sourceId: source.id });
    res.status(200).json({ sourceId: source.id, status: source.status });
  };
}
