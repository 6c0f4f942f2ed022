import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { pageNonce, scriptJson, SIGN_IN_FORM } from '../../functions/src/entry/status-page';

/**
 * Serves the example host app page (client/example/host-page.ts, bundled by esbuild with the
 * Firebase client SDK) on 127.0.0.1: `/` is the page, `/host-page.js` its script. The page is
 * the connect flow's return URL, so that Google's consent comes back to it. A fresh nonce per
 * response and a CSP that lets it talk only to the sign-in service, Firestore and `connect`,
 * and post its start form only along the connect flow's path.
 */
export interface HostPageOptions {
  firebase: { apiKey: string; projectId: string };
  /** `127.0.0.1:port` of the Auth and Firestore emulators; null in production. */
  emulators: { auth: string; firestore: string } | null;
  connectUrl: string;
  /** Where the start form's redirects go: Google's consent screen and the connect callback. */
  consentUrl: string;
  callbackUrl: string;
}

export interface HostPage {
  /** The page's address (the connect flow's return URL). */
  url: string;
  /** The page answers 503 until it knows the stack it shows. */
  configure(options: HostPageOptions): void;
  close(): Promise<void>;
}

const SCRIPT_PATH = '/host-page.js';

async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [join(__dirname, '../../client/example/host-page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

const origin = (url: string) => new URL(url).origin;

export function hostPageCsp(nonce: string, options: HostPageOptions): string {
  const services = options.emulators === null ? ['https://identitytoolkit.googleapis.com', 'https://securetoken.googleapis.com', 'https://firestore.googleapis.com'] : [`http://${options.emulators.auth}`, `http://${options.emulators.firestore}`];
  const formTargets = [options.connectUrl, options.consentUrl, options.callbackUrl].map(origin);
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    `connect-src ${[...new Set(["'self'", ...services, origin(options.connectUrl)])].join(' ')}`,
    `form-action ${[...new Set(["'self'", ...formTargets])].join(' ')}`,
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function renderPage(options: HostPageOptions, nonce: string): string {
  const settings = { firebase: options.firebase, emulators: options.emulators, connectUrl: options.connectUrl };
  // A module script runs once the document is parsed, so it can sit in the head with its settings.
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Example host app</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script type="application/json" id="settings">${scriptJson(settings)}</script>
<script type="module" nonce="${nonce}" src="${SCRIPT_PATH}"></script>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
${BODY}
</body>
</html>`;
}

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; margin: 2rem; color: #1b1b1b; max-width: 48rem; }
  ul { list-style: none; padding: 0; }
  .source, .task { padding: .4rem 0; border-bottom: 1px solid #ddd; }
  .badge { font-weight: 600; padding: .1rem .6rem; border-radius: 1rem; border: 2px solid; }
  .badge.active { color: #0b5d1e; border-color: #0b5d1e; background: #e6f4ea; }
  .badge.degraded { color: #7a4b00; border-color: #7a4b00; background: #fff4e0; }
  .badge.disconnected { color: #8b1a1a; border-color: #8b1a1a; background: #fde8e8; }
  .banner { background: #fff4e0; border: 2px solid #7a4b00; padding: .75rem 1rem; margin: 1rem 0; }
  .reconnect { margin-top: .4rem; color: #8b1a1a; }
  .reason, .origin, .due { color: #444; }
  form { display: flex; gap: .5rem; flex-wrap: wrap; align-items: end; } [hidden] { display: none; }
`;

const BODY = `<h1>Example host app</h1>
${SIGN_IN_FORM}
<main id="app" hidden>
  <p>Signed in as <strong id="user"></strong></p>
  <form id="connect">
    <label>Google account <input name="email" type="email"></label>
    <button type="submit">Connect a Google account</button>
  </form>
  <div id="confirm" role="region" aria-label="Confirm a new connection" hidden>
    <p>Link the Google account <strong id="confirm-email"></strong> to your account?</p>
    <button type="button" id="confirm-button">Link it</button>
  </div>
  <p id="connect-error" role="alert"></p>
  <h2>Accounts</h2>
  <div id="banner" role="status"></div>
  <div id="sources" aria-live="polite"></div>
  <h2>Tasks</h2>
  <div id="tasks" aria-live="polite"></div>
</main>`;

export async function startHostPage(): Promise<HostPage> {
  const script = await bundle();
  let options: HostPageOptions | null = null;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://page').pathname;
    const headers = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'strict-origin' };
    if (req.method !== 'GET') return void res.writeHead(405, { ...headers, Allow: 'GET' }).end();
    if (path === SCRIPT_PATH) return void res.writeHead(200, { ...headers, 'Content-Type': 'text/javascript; charset=utf-8' }).end(script);
    if (path !== '/') return void res.writeHead(404, headers).end();
    if (options === null) return void res.writeHead(503, headers).end('starting');
    const nonce = pageNonce();
    res.writeHead(200, { ...headers, 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': hostPageCsp(nonce, options) }).end(renderPage(options, nonce));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    configure: (o) => (options = o),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
