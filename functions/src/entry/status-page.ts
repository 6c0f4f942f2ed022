import { randomBytes } from 'node:crypto';

/**
 * The status page: self-contained HTML (no external assets). It holds no user data itself:
 * the user signs in (Firebase Auth, email and password, through the Identity Toolkit REST
 * API or the local Auth emulator) and the page fetches the JSON endpoint with that ID token
 * every few seconds, without a reload. Status is written out in words next to its colour,
 * and changes are announced to screen readers. The page asks only its own origin (its own
 * address is origin + path, so no path can name another host), the sign-in service and
 * `connect`, which its CSP enforces; every value it shows goes in as text, never as markup.
 */

/** Where the page signs in; null when neither an API key nor the emulator is configured. */
export function signInUrl(options: { apiKey: string | null; emulatorHost: string | null }): string | null {
  const path = 'identitytoolkit.googleapis.com/v1/accounts:signInWithPassword';
  if (options.emulatorHost !== null) return `http://${options.emulatorHost}/${path}?key=${encodeURIComponent(options.apiKey ?? 'local')}`;
  return options.apiKey === null ? null : `https://${path}?key=${encodeURIComponent(options.apiKey)}`;
}

export interface StatusPageOptions {
  signInUrl: string | null;
  /** When set, a `#status=confirm&link=…` return from the connect callback offers to confirm it. */
  connectUrl: string | null;
  refreshMs: number;
}

/** A fresh nonce per response: the only scripts and styles the page runs are its own. */
export function pageNonce(): string {
  return randomBytes(18).toString('base64');
}

/** The page's CSP: its own nonce, and fetches only to itself, the sign-in service and `connect`. */
export function statusPageCsp(nonce: string, options: Pick<StatusPageOptions, 'signInUrl' | 'connectUrl'>): string {
  const origins = [options.signInUrl, options.connectUrl].filter((u): u is string => u !== null).map((u) => new URL(u).origin);
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    `connect-src ${["'self'", ...new Set(origins)].join(' ')}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** JSON that is safe inside a <script> element (no `</script>`, no `<!--`). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export function renderStatusPage(options: StatusPageOptions, nonce: string): string {
  const settings = { signInUrl: options.signInUrl, connectUrl: options.connectUrl, refreshMs: options.refreshMs };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sync status</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
${BODY}
<script type="application/json" id="settings">${scriptJson(settings)}</script>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>`;
}

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; margin: 2rem; color: #1b1b1b; }
  .sources { list-style: none; padding: 0; }
  .source { display: flex; gap: 1rem; align-items: baseline; padding: .5rem 0; border-bottom: 1px solid #ddd; flex-wrap: wrap; }
  .badge { font-weight: 600; padding: .1rem .6rem; border-radius: 1rem; border: 2px solid; }
  .badge.active { color: #0b5d1e; border-color: #0b5d1e; background: #e6f4ea; }
  .badge.degraded { color: #7a4b00; border-color: #7a4b00; background: #fff4e0; }
  .badge.disconnected { color: #8b1a1a; border-color: #8b1a1a; background: #fde8e8; }
  .badge.active::before { content: "● "; } .badge.degraded::before { content: "▲ "; } .badge.disconnected::before { content: "✕ "; }
  .banner { background: #fff4e0; border: 2px solid #7a4b00; padding: .75rem 1rem; margin-bottom: 1rem; }
  .reason, .synced, .audited { color: #444; }
  form { display: grid; gap: .5rem; max-width: 20rem; } [hidden] { display: none; }
`;

/** Email and password; the page's script signs in with them (the example host app uses it too). */
export const SIGN_IN_FORM = `<form id="sign-in" hidden>
  <label>Email <input name="email" type="email" autocomplete="username" required></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <button type="submit">Sign in</button>
  <p id="sign-in-error" role="alert"></p>
</form>`;

const BODY = `<h1>Sync status</h1>
${SIGN_IN_FORM}
<div id="confirm" role="region" aria-label="Confirm a new connection" hidden>
  <p>Link the Google account <strong id="confirm-email"></strong> to your account?</p>
  <button type="button" id="confirm-button">Link it</button>
</div>
<div id="banner" aria-live="polite"></div>
<div id="sources" aria-live="polite"></div>`;

/** The page's behaviour; its settings come from the JSON block above it, never spliced in. */
const SCRIPT = `
(() => {
  const { signInUrl, connectUrl, refreshMs } = JSON.parse(document.getElementById('settings').textContent);
  const labels = { active: 'Active', degraded: 'Degraded', disconnected: 'Disconnected' };
  // Origin + path: a path such as //other.example/x stays on this origin.
  const self = location.origin + location.pathname;
  const outcome = new URLSearchParams(location.hash.slice(1));
  let link = outcome.get('status') === 'confirm' ? outcome.get('link') : null;
  if (location.hash !== '') history.replaceState(null, '', self + location.search);
  const form = document.getElementById('sign-in');
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = String(text);
    return node;
  };
  const ago = (iso, now) => iso === null ? 'never synced' : 'last synced ' + Math.max(0, Math.round((Date.parse(now) - Date.parse(iso)) / 1000)) + ' s ago';
  const showSignIn = (message) => {
    form.hidden = false;
    document.getElementById('sign-in-error').textContent = signInUrl === null ? 'Sign-in is not configured: open this page from the app.' : (message || '');
  };
  const bearer = (token) => ({ Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const response = await fetch(signInUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: data.get('email'), password: data.get('password'), returnSecureToken: true }) });
    if (!response.ok) return showSignIn('Wrong email or password.');
    sessionStorage.setItem('idToken', (await response.json()).idToken);
    form.hidden = true;
    refresh();
  });
  async function offerLink(token) {
    if (link === null || connectUrl === null || !document.getElementById('confirm').hidden) return;
    const response = await fetch(connectUrl + '/link', { method: 'POST', headers: bearer(token), body: JSON.stringify({ link }) });
    if (!response.ok) return;
    document.getElementById('confirm-email').textContent = String((await response.json()).email);
    document.getElementById('confirm').hidden = false;
    document.getElementById('confirm-button').onclick = async () => {
      await fetch(connectUrl + '/confirm', { method: 'POST', headers: bearer(token), body: JSON.stringify({ link }) });
      document.getElementById('confirm').hidden = true;
      link = null;
      refresh();
    };
  }
  function sourceItem(source, now) {
    const status = Object.hasOwn(labels, source.status) ? source.status : 'unknown';
    const item = el('li', 'source');
    item.dataset.sourceId = String(source.sourceId);
    const badge = el('span', 'badge ' + status, labels[status] || source.status);
    badge.dataset.status = status;
    item.append(badge, ' ', el('span', 'email', source.email), ' ', el('span', 'synced', ago(source.lastSyncAt, now)));
    if (source.lastAuditAt) item.append(' ', el('span', 'audited', 'completeness audited ' + source.lastAuditAt));
    if (source.reason) item.append(' ', el('span', 'reason', source.reason));
    const calendars = el('ul', 'calendars');
    calendars.append(...(source.calendars || []).map((c) => el('li', 'calendar', c.calendarId + ': ' + c.state)));
    if (source.calendarListChannel) calendars.append(el('li', 'calendar-list', 'calendar list: ' + source.calendarListChannel.state));
    if (calendars.childElementCount > 1) item.append(calendars);
    return item;
  }
  function render(body) {
    const polling = body.sources.filter((s) => s.polling);
    const banner = polling.length === 0 ? [] : [el('div', 'banner', 'Falling back to polling for ' + polling.map((s) => s.email).join(', ') + ': changes may take a few minutes to appear.')];
    banner.forEach((b) => b.setAttribute('role', 'status'));
    document.getElementById('banner').replaceChildren(...banner);
    const list = el('ul', 'sources');
    list.append(...body.sources.map((s) => sourceItem(s, body.now)));
    document.getElementById('sources').replaceChildren(body.sources.length === 0 ? el('p', '', 'No connected accounts.') : list);
  }
  async function refresh() {
    const token = sessionStorage.getItem('idToken');
    if (token === null) return showSignIn();
    try {
      const response = await fetch(self, { headers: { Accept: 'application/json', Authorization: 'Bearer ' + token } });
      if (response.status === 401) {
        sessionStorage.removeItem('idToken');
        return showSignIn('Your session ended: sign in again.');
      }
      if (!response.ok) return;
      offerLink(token);
      render(await response.json());
    } catch (e) { /* keep the last view; try again */ }
  }
  refresh();
  setInterval(refresh, refreshMs);
})();
`;
