/**
 * The status page: self-contained HTML (no external assets). It holds no user data itself:
 * the user signs in (Firebase Auth, email and password, through the Identity Toolkit REST
 * API or the local Auth emulator) and the page fetches the JSON endpoint with that ID token
 * every few seconds, without a reload. Status is written out in words next to its colour,
 * and changes are announced to screen readers.
 */

const LABELS = { active: 'Active', degraded: 'Degraded', disconnected: 'Disconnected' } as const;

/** Where the page signs in; null when neither an API key nor the emulator is configured. */
export function signInUrl(options: { apiKey: string | null; emulatorHost: string | null }): string | null {
  const path = 'identitytoolkit.googleapis.com/v1/accounts:signInWithPassword';
  if (options.emulatorHost !== null) return `http://${options.emulatorHost}/${path}?key=${encodeURIComponent(options.apiKey ?? 'local')}`;
  return options.apiKey === null ? null : `https://${path}?key=${encodeURIComponent(options.apiKey)}`;
}

/**
 * `connectUrl`: when set, a `?status=confirm&link=…` return from the connect callback shows the
 * Google address being linked and lets the signed-in user confirm it (what a host app does).
 */
export function renderStatusPage(options: { signInUrl: string | null; connectUrl: string | null; refreshMs: number }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sync status</title>
<style>
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
</style>
</head>
<body>
<h1>Sync status</h1>
<form id="sign-in" hidden>
  <label>Email <input name="email" type="email" autocomplete="username" required></label>
  <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
  <button type="submit">Sign in</button>
  <p id="sign-in-error" role="alert"></p>
</form>
<div id="confirm" role="region" aria-label="Confirm a new connection" hidden>
  <p>Link the Google account <strong id="confirm-email"></strong> to your account?</p>
  <button type="button" id="confirm-button">Link it</button>
</div>
<div id="banner" aria-live="polite"></div>
<div id="sources" aria-live="polite"></div>
<script>
(() => {
  const labels = ${JSON.stringify(LABELS)};
  const signInUrl = ${JSON.stringify(options.signInUrl)};
  const connectUrl = ${JSON.stringify(options.connectUrl)};
  let link = new URLSearchParams(location.search).get('link');
  const form = document.getElementById('sign-in');
  const esc = (t) => String(t).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const ago = (iso, now) => iso === null ? 'never synced' : 'last synced ' + Math.max(0, Math.round((Date.parse(now) - Date.parse(iso)) / 1000)) + ' s ago';
  const showSignIn = (message) => {
    form.hidden = false;
    document.getElementById('sign-in-error').textContent = signInUrl === null ? 'Sign-in is not configured: open this page from the app.' : (message || '');
  };
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
    const response = await fetch(connectUrl + '/link?link=' + encodeURIComponent(link), { headers: { Authorization: 'Bearer ' + token } });
    if (!response.ok) return;
    document.getElementById('confirm-email').textContent = (await response.json()).email;
    document.getElementById('confirm').hidden = false;
    document.getElementById('confirm-button').onclick = async () => {
      await fetch(connectUrl + '/confirm', { method: 'POST', headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' }, body: JSON.stringify({ link }) });
      document.getElementById('confirm').hidden = true;
      link = null;
      history.replaceState(null, '', location.pathname);
      refresh();
    };
  }
  async function refresh() {
    const token = sessionStorage.getItem('idToken');
    if (token === null) return showSignIn();
    try {
      const response = await fetch(location.pathname, { headers: { Accept: 'application/json', Authorization: 'Bearer ' + token } });
      if (response.status === 401) {
        sessionStorage.removeItem('idToken');
        return showSignIn('Your session ended: sign in again.');
      }
      if (!response.ok) return;
      offerLink(token);
      const body = await response.json();
      const polling = body.sources.filter((s) => s.polling);
      document.getElementById('banner').innerHTML = polling.length === 0 ? '' :
        '<div class="banner" role="status">Falling back to polling for ' + polling.map((s) => esc(s.email)).join(', ') + ': changes may take a few minutes to appear.</div>';
      document.getElementById('sources').innerHTML = body.sources.length === 0 ? '<p>No connected accounts.</p>' :
        '<ul class="sources">' + body.sources.map((s) =>
          '<li class="source" data-source-id="' + esc(s.sourceId) + '"><span class="badge ' + s.status + '" data-status="' + s.status + '">' + labels[s.status] + '</span> ' +
          '<span class="email">' + esc(s.email) + '</span> <span class="synced">' + ago(s.lastSyncAt, body.now) + '</span>' +
          (s.lastAuditAt ? ' <span class="audited">completeness audited ' + esc(s.lastAuditAt) + '</span>' : '') +
          (s.reason ? ' <span class="reason">' + esc(s.reason) + '</span>' : '') + '</li>').join('') + '</ul>';
    } catch (e) { /* keep the last view; try again */ }
  }
  refresh();
  setInterval(refresh, ${options.refreshMs});
})();
</script>
</body>
</html>`;
}
