import type { Request, Response } from '@google-cloud/functions-framework';

/**
 * CORS for the routes a host app's page calls with `fetch` and a Bearer token: the page lives
 * on the app's own origin, so the browser asks first. Only the origins that may start a
 * connection get an answer; no cookies are involved (`Access-Control-Allow-Credentials` is
 * never sent), so the token in the header stays the only credential.
 */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** Sets the CORS headers for an allowed origin; true when the request was a preflight, now answered. */
export function answerCors(req: Request, res: Response, allowedOrigins: readonly string[], methods: readonly string[]): boolean {
  const origin = req.headers.origin;
  const allowed = typeof origin === 'string' && allowedOrigins.includes(origin);
  res.vary('Origin');
  if (allowed) res.set('Access-Control-Allow-Origin', origin);
  if (req.method !== 'OPTIONS') return false;
  if (allowed) {
    res.set({ 'Access-Control-Allow-Methods': methods.join(', '), 'Access-Control-Allow-Headers': 'Authorization, Content-Type', 'Access-Control-Max-Age': String(PREFLIGHT_MAX_AGE_SECONDS) });
  }
  res.status(allowed ? 204 : 403).end();
  return true;
}
