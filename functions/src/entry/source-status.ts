import type { Request, Response } from '@google-cloud/functions-framework';
import { sourceStatusView } from '../engine/source/source-status';
import { bearerToken } from '../identity/id-tokens';
import type { Services } from './services';
import { pageNonce, renderStatusPage, signInUrl, statusPageCsp } from './status-page';

/**
 * sourceStatus (HTTPS, public): GET with `Authorization: Bearer <Firebase ID token>` → the
 * signed-in user's sources as JSON. The user comes from the verified token only (a `userId`
 * in the query is ignored). `Accept: text/html` → the status page, which holds no data and
 * signs in before it asks. Only at the function's root: the page polls its own address.
 */

const REFRESH_MS = 3000;

export function sourceStatusHandler(services: () => Services) {
  return async (req: Request, res: Response): Promise<void> => {
    if (req.method !== 'GET') {
      res.status(405).set('Allow', 'GET').end();
      return;
    }
    // The page and its data live at the function's root only: any other path is no page.
    if (req.path !== '/') {
      res.status(404).json({ error: 'not found' });
      return;
    }
    const s = services();
    res.set('Cache-Control', 'no-store');
    const token = bearerToken(req.headers.authorization);
    if (token === null && req.accepts(['application/json', 'text/html']) === 'text/html') {
      sendStatusPage(res, s);
      return;
    }
    const user = token === null ? null : await s.users.verify(token);
    if (!user) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'sign in: Authorization: Bearer <Firebase ID token>' });
      return;
    }
    const now = s.clock.now();
    const views = (await s.sources.listByUser(user.uid))
      .map((source) => sourceStatusView(source, now, s.statusSettings))
      .sort((a, b) => a.email.localeCompare(b.email));
    res.status(200).json({ userId: user.uid, now: now.toISOString(), sources: views });
  };
}

function sendStatusPage(res: Response, s: Services): void {
  const options = {
    signInUrl: signInUrl({ apiKey: s.config.identity.webApiKey, emulatorHost: s.config.identity.authEmulatorHost }),
    connectUrl: s.config.identity.connectUrl,
    refreshMs: REFRESH_MS,
  };
  const nonce = pageNonce();
  res.status(200).set('Content-Security-Policy', statusPageCsp(nonce, options)).type('html').send(renderStatusPage(options, nonce));
}
