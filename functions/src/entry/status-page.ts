import type { SourceStatusView } from '../engine/source-status';

/**
 * The status page: self-contained HTML (no external assets), rendered on the server and then
 * refreshed every few seconds from the JSON endpoint without a reload. Status is written out
 * in words next to its colour, and changes are announced to screen readers.
 */

const LABELS = { active: 'Active', degraded: 'Degraded', disconnected: 'Disconnected' } as const;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function ago(iso: string | null, now: Date): string {
  if (iso === null) return 'never synced';
  const seconds = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  return `last synced ${seconds} s ago`;
}

function renderSources(sources: SourceStatusView[], now: Date): string {
  if (sources.length === 0) return '<p>No connected accounts.</p>';
  return `<ul class="sources">${sources
    .map(
      (s) => `<li class="source" data-source-id="${escapeHtml(s.sourceId)}">
  <span class="badge ${s.status}" data-status="${s.status}">${LABELS[s.status]}</span>
  <span class="email">${escapeHtml(s.email)}</span>
  <span class="synced">${ago(s.lastSyncAt, now)}</span>
  ${s.lastAuditAt ? `<span class="audited">completeness audited ${escapeHtml(s.lastAuditAt)}</span>` : ''}
  ${s.reason ? `<span class="reason">${escapeHtml(s.reason)}</span>` : ''}
</li>`,
    )
    .join('\n')}</ul>`;
}

function renderBanner(sources: SourceStatusView[]): string {
  const polling = sources.filter((s) => s.polling);
  if (polling.length === 0) return '';
  return `<div class="banner" role="status">Falling back to polling for ${polling.map((s) => escapeHtml(s.email)).join(', ')}: changes may take a few minutes to appear.</div>`;
}

export function renderStatusPage(userId: string, sources: SourceStatusView[], now: Date, refreshMs: number): string {
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
</style>
</head>
<body>
<h1>Sync status</h1>
<div id="banner" aria-live="polite">${renderBanner(sources)}</div>
<div id="sources" aria-live="polite">${renderSources(sources, now)}</div>
<script>
(() => {
  const labels = ${JSON.stringify(LABELS)};
  const esc = (t) => String(t).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const ago = (iso, now) => iso === null ? 'never synced' : 'last synced ' + Math.max(0, Math.round((Date.parse(now) - Date.parse(iso)) / 1000)) + ' s ago';
  async function refresh() {
    try {
      const response = await fetch(location.pathname + '?userId=' + encodeURIComponent(${JSON.stringify(userId)}), { headers: { Accept: 'application/json' } });
      if (!response.ok) return;
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
  setInterval(refresh, ${refreshMs});
})();
</script>
</body>
</html>`;
}
