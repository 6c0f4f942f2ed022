import type { Request, Response } from '@google-cloud/functions-framework';
import * as z from 'zod';
import { documentIdSchema } from '../engine/model';
import { confirmConnect, declineConnect, finishConnect, flowKey, stagedAddress, startConnect, type ConnectDeps } from '../engine/account/connect';
import { disconnectSource, mailboxSources } from '../engine/account/disconnect';
import { answerCors } from './cors';
import { identifyCaller, userFor, type Handler } from './identity';
import { RULE_ROUTES, type RuleRoute } from './rules';
import { calendarsRoute } from './calendars';
import type { Services } from './services';
import { LOG_EVENTS } from '../observability/log-events';

/**
 * connect (HTTPS, public: every route verifies its caller itself):
 *   POST /start       the user's browser (top-level form POST from an allowed origin,
 *                     `idToken` field), optional `loginHint` → a browser-binding cookie for
 *                     this flow and a redirect to Google
 *   POST /link        (Bearer) `{link}`: the Google address a staged grant would link, to show
 *   POST /confirm     (Bearer) `{link}`: the signed-in user confirms → the source
 *   POST /disconnect  (Bearer) `{sourceId}`; a server caller adds `userId` (the owner)
 *   GET  /sources     (Bearer) every source on the caller's mailboxes; server: `?userId=`
 *   GET|PUT /rules, GET /labels   a source's Gmail intake rule and its labels (entry/rules.ts)
 *   GET|POST /calendars  (Bearer) a source's calendars and event rules (entry/calendars.ts)
 * connectCallback (HTTPS, public): GET /callback, Google's redirect; it trusts only the
 * single-use state together with the cookie and the PKCE verifier, and needs to encrypt only.
 */

export type ConnectRoute = 'start' | 'callback' | 'link' | 'confirm' | 'disconnect' | 'sources' | 'calendars' | RuleRoute;
const STATE_TTL_MS = 10 * 60_000;
/**
 * `__Host-`: Secure, Path=/ and no Domain, so no other site or subdomain can plant or read it;
 * one per flow (`flowKey`), so starting again does not break a flow in progress.
 */
export const NONCE_COOKIE_PREFIX = '__Host-connect-';
const nonceCookie = (flow: string) => `${NONCE_COOKIE_PREFIX}${flow}`;

const startSchema = z.object({ loginHint: z.email().max(320).optional() });
const callbackSchema = z.union([
  z.object({ state: z.string().min(16).max(200), code: z.string().min(1).max(2000) }),
  z.object({ state: z.string().min(16).max(200), error: z.string().min(1).max(200) }),
]);
const linkSchema = z.object({ link: z.string().regex(/^[A-Za-z0-9_-]{32}$/) });
const disconnectSchema = z.object({ sourceId: documentIdSchema, userId: documentIdSchema.optional() });
const sourcesSchema = z.object({ userId: documentIdSchema.optional() });

export function connectDeps(s: Services): ConnectDeps {
  return {
    states: s.connectStates,
    oauth: s.oauthFlow,
    sources: s.sources,
    tokens: s.vault,
    secrets: s.secrets,
    watchDeps: s.watchDeps,
    publisher: s.publisher,
    clock: s.clock,
    stateTtlMs: STATE_TTL_MS,
  };
}

function routeOf(req: Request): string {
  return req.path.replace(/\/+$/, '').split('/').pop() ?? '';
}

/**
 * The return URL with the outcome in its fragment: browsers send neither fragments nor
 * (with no-referrer) the URL to servers, so the link id stays out of request logs.
 */
function withFragment(base: string, params: Record<string, string>): string {
  const url = new URL(base);
  url.hash = new URLSearchParams(params).toString();
  return url.toString();
}

/**
 * Whether a `start` may come from where the browser says it comes from: a page on an allowed
 * origin; or, without an `Origin` (browsers send one with every POST), a caller that is no
 * browser, unless Fetch Metadata says another site sent it.
 */
export function startAllowed(headers: { origin?: string | undefined; secFetchSite?: string | undefined }, allowedOrigins: readonly string[]): boolean {
  if (headers.origin !== undefined) return allowedOrigins.includes(headers.origin);
  return headers.secFetchSite === undefined || headers.secFetchSite === 'same-origin' || headers.secFetchSite === 'none';
}

function cookie(req: Request, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=') || null;
  }
  return null;
}

const clearNonce = (flow: string) => `${nonceCookie(flow)}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax`;
const header = (req: Request, name: string) => (typeof req.headers[name] === 'string' ? req.headers[name] : undefined);

const start: Handler = async (req, res, s) => {
  if (req.method !== 'POST') {
    // A GET would put the token or the login hint in a URL, and URLs are logged.
    res.status(405).set('Allow', 'POST').json({ error: 'POST a form with idToken (and optionally loginHint)' });
    return;
  }
  if (!startAllowed({ origin: header(req, 'origin'), secFetchSite: header(req, 'sec-fetch-site') }, s.config.connect.allowedOrigins)) {
    s.logger.warn(LOG_EVENTS.connectStartRefused, { reason: 'origin not allowed' });
    res.status(403).json({ error: 'connecting starts from the app: this origin may not start it (CONNECT_ALLOWED_ORIGINS)' });
    return;
  }
  const caller = await identifyCaller(req, s, { formToken: true });
  if (caller?.kind !== 'user') {
    res.status(401).json({ error: 'sign in first: the flow is bound to the signed-in user and their browser' });
    return;
  }
  const input = startSchema.safeParse(req.body ?? {});
  if (!input.success) {
    res.status(400).json({ error: 'loginHint must be an email address' });
    return;
  }
  const { consentUrl, browserNonce, flow } = await startConnect(connectDeps(s), caller.uid, input.data.loginHint ?? null);
  s.logger.info(LOG_EVENTS.connectStarted, { trigger: 'manual' });
  res.set('Set-Cookie', `${nonceCookie(flow)}=${browserNonce}; Max-Age=${STATE_TTL_MS / 1000}; Path=/; Secure; HttpOnly; SameSite=Lax`);
  res.set('Cache-Control', 'no-store');
  res.redirect(303, consentUrl);
};

const callback: Handler = async (req, res, s) => {
  const input = callbackSchema.safeParse(req.query);
  res.set('Cache-Control', 'no-store');
  if (!input.success) {
    res.status(400).type('text').send('This sign-in link is incomplete. Start connecting again from the app.');
    return;
  }
  const flow = flowKey(input.data.state);
  const browserNonce = cookie(req, nonceCookie(flow));
  const deps = connectDeps(s);
  if ('error' in input.data) {
    if (!(await declineConnect(deps, { state: input.data.state, browserNonce }))) s.logger.warn(LOG_EVENTS.connectDeclineRefused, { reason: 'invalid-state or other-browser' });
    res.set('Set-Cookie', clearNonce(flow)).redirect(302, withFragment(s.config.connect.returnUrl, { status: 'denied' }));
    return;
  }
  const result = await finishConnect(deps, { ...input.data, browserNonce });
  res.set('Set-Cookie', clearNonce(flow));
  if (!result.ok) {
    s.logger.warn(LOG_EVENTS.connectCallbackRefused, { reason: result.reason });
    res.status(400).type('text').send(callbackRefusal(result.reason));
    return;
  }
  s.logger.info(LOG_EVENTS.connectGrantStaged, { trigger: 'manual' });
  res.redirect(302, withFragment(s.config.connect.returnUrl, { status: 'confirm', link: result.linkId }));
};

function callbackRefusal(reason: string): string {
  return reason === 'account-mismatch'
    ? 'You signed in to Google with a different account than the one you chose in the app. Start connecting again.'
    : 'This sign-in link is invalid, already used, expired, or was opened in another browser. Start connecting again from the app.';
}

const link: Handler = async (req, res, s) => {
  const input = linkSchema.safeParse(req.body);
  if (!input.success) {
    res.status(400).json({ error: 'expected link' });
    return;
  }
  const userId = await userFor(req, res, s, undefined);
  if (userId === null) return;
  const deps = connectDeps(s);
  if (routeOf(req) === 'link') {
    const email = await stagedAddress(deps, userId, input.data.link);
    if (email === null) res.status(404).json({ error: 'no such link' });
    else res.status(200).set('Cache-Control', 'no-store').json({ email });
    return;
  }
  const confirmed = await confirmConnect(deps, userId, input.data.link);
  if (!confirmed.ok) {
    res.status(404).json({ error: 'no such link (expired, used, or not yours)' });
    return;
  }
  s.logger.info(LOG_EVENTS.accountConnected, { sourceId: confirmed.source.id, created: confirmed.created });
  res.status(200).json({ sourceId: confirmed.source.id, email: confirmed.source.email, status: confirmed.source.status });
};

const disconnect: Handler = async (req, res, s) => {
  const input = disconnectSchema.safeParse(req.body);
  if (!input.success) {
    res.status(400).json({ error: 'expected a JSON body {"sourceId": "..."}' });
    return;
  }
  const userId = await userFor(req, res, s, input.data.userId);
  if (userId === null) return;
  const result = await disconnectSource(connectDeps(s), { sourceId: input.data.sourceId, userId });
  if (!result.ok) {
    // Someone else's source looks exactly like a missing one.
    res.status(404).json({ error: 'no such source' });
    return;
  }
  s.logger.info(LOG_EVENTS.accountDisconnected, { sourceId: result.source.id, revoked: result.revoked });
  res.status(200).json({ sourceId: result.source.id, status: result.source.status, revoked: result.revoked });
};

const sources: Handler = async (req, res, s) => {
  const input = sourcesSchema.safeParse(req.query);
  if (!input.success) {
    res.status(400).json({ error: 'unexpected userId' });
    return;
  }
  const userId = await userFor(req, res, s, input.data.userId);
  if (userId === null) return;
  res.status(200).set('Cache-Control', 'no-store').json({ sources: await mailboxSources(connectDeps(s), userId) });
};

const HANDLERS: Record<ConnectRoute, { methods: readonly string[]; handle: Handler }> = {
  start: { methods: ['POST'], handle: start },
  callback: { methods: ['GET'], handle: callback },
  link: { methods: ['POST'], handle: link },
  confirm: { methods: ['POST'], handle: link },
  disconnect: { methods: ['POST'], handle: disconnect },
  sources: { methods: ['GET'], handle: sources },
  calendars: { methods: ['GET', 'POST'], handle: calendarsRoute },
  ...RULE_ROUTES,
};

export function connectHandler(services: () => Services, routes: ConnectRoute[]) {
  return async (req: Request, res: Response): Promise<void> => {
    const route = routeOf(req) as ConnectRoute;
    if (!routes.includes(route)) {
      res.status(404).json({ error: `no route /${route}; this deployment serves ${routes.map((r) => `/${r}`).join(', ')}` });
      return;
    }
    const { methods, handle } = HANDLERS[route];
    const s = services();
    // The Bearer routes answer a host app's page on an allowed origin; start and callback are navigations.
    const navigation = route === 'start' || route === 'callback';
    if (!navigation && answerCors(req, res, s.config.connect.allowedOrigins, methods)) return;
    // start answers its own 405 (it explains why GET is not offered).
    if (!methods.includes(req.method) && route !== 'start') {
      res.status(405).set('Allow', methods.join(', ')).end();
      return;
    }
    await handle(req, res, s);
  };
}
