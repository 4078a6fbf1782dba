/**
 * The local SES's web inbox: server-rendered pages (no script), a page of messages at a time with a
 * search over recipients, subject and campaign, and one message with its headers and tags. The HTML
 * body is shown in a sandboxed iframe served with a CSP sandbox of its own, so a message's markup can
 * run no script and reach nothing of the inbox; it may load images, which is how the open pixel fires.
 */
import type { Page, StoredEmail } from './store.ts';

const escapeHtml = (value: unknown) =>
  String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#232f3e;color:#fff;padding:10px 16px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none;font-weight:600}
main{padding:12px 16px;max-width:1200px}
form{display:flex;gap:8px;flex-wrap:wrap}input[type=search]{flex:1;min-width:200px;padding:6px}
table{border-collapse:collapse;width:100%;background:#fff;margin-top:10px}
td,th{border-bottom:1px solid #e2e5e9;padding:6px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#eef0f3}.pager{display:flex;gap:12px;margin-top:10px;align-items:center}
iframe{width:100%;height:70vh;border:1px solid #cfd4da;background:#fff}
pre{white-space:pre-wrap;background:#fff;border:1px solid #cfd4da;padding:8px}
.muted{color:#5f6b7a}`;

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><header><a href="/">sixback local SES</a><span class="muted">inbox</span></header><main>${body}</main></body></html>`;
}

export function listPage(page: Page, query: string, stored: number): string {
  const link = (offset: number) =>
    `/?${new URLSearchParams({ ...(query ? { q: query } : {}), offset: String(offset), limit: String(page.limit) })}`;
  const rows = page.items
    .map(
      (e) =>
        `<tr data-message-id="${escapeHtml(e.id)}"><td>${escapeHtml(new Date(e.t).toISOString().replace('T', ' ').slice(0, 19))}</td><td>${escapeHtml(e.to)}</td><td><a href="/messages/${encodeURIComponent(e.id)}">${escapeHtml(e.subject || '(no subject)')}</a></td><td>${escapeHtml(e.campaign)}</td><td>${escapeHtml(e.from)}</td></tr>`,
    )
    .join('');
  const first = page.total === 0 ? 0 : page.offset + 1;
  const last = page.offset + page.items.length;
  return layout(
    'Local SES inbox',
    `<form method="get" action="/" role="search"><input type="search" name="q" value="${escapeHtml(query)}" placeholder="recipient, subject or campaign (to:, subject:, campaign: narrow it)" aria-label="Search"><button type="submit">Search</button></form>
<p class="summary">${page.total === 0 ? 'No messages' : `${first}–${last} of ${page.total}`}${query ? ` matching “${escapeHtml(query)}”` : ''} <span class="muted">(${stored} stored)</span></p>
<table><thead><tr><th>Sent (UTC)</th><th>To</th><th>Subject</th><th>Campaign</th><th>From</th></tr></thead><tbody>${rows}</tbody></table>
<nav class="pager">${page.offset > 0 ? `<a rel="prev" href="${link(Math.max(0, page.offset - page.limit))}">← Newer</a>` : ''}${last < page.total ? `<a rel="next" href="${link(last)}">Older →</a>` : ''}</nav>`,
  );
}

export function messagePage(email: StoredEmail, content: { html?: string; text?: string }): string {
  const id = encodeURIComponent(email.messageId);
  const headers = [
    ['From', email.from],
    ['To', email.destination.to.join(', ')],
    ...(email.destination.cc.length ? [['Cc', email.destination.cc.join(', ')]] : []),
    ...(email.replyTo.length ? [['Reply-To', email.replyTo.join(', ')]] : []),
    ['Subject', email.subject],
    ['Date', email.at],
    ['Message ID', email.messageId],
    ...(email.configurationSet ? [['Configuration set', email.configurationSet]] : []),
    ...email.headers.map((h) => [h.name, h.value]),
  ];
  const tags = Object.entries(email.tags)
    .map(([name, values]) => `${name}=${values.join(',')}`)
    .join('; ');
  return layout(
    email.subject || 'Message',
    `<p><a href="/">← Inbox</a> · <a href="/messages/${id}/eml">Download .eml</a></p>
<table class="headers"><tbody>${headers.map(([n, v]) => `<tr><th>${escapeHtml(n)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}<tr><th>Tags</th><td>${escapeHtml(tags)}</td></tr></tbody></table>
${content.html !== undefined ? `<h2>HTML</h2><iframe title="Message HTML" sandbox="allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer" src="/messages/${id}/html"></iframe>` : ''}
${content.text !== undefined ? `<h2>Text</h2><pre>${escapeHtml(content.text)}</pre>` : ''}`,
  );
}

/** The message's HTML as the iframe gets it: links open in a new tab (the frame cannot navigate the inbox). */
export function framedHtml(html: string): string {
  return `<base target="_blank">${html}`;
}

/** The CSP of the framed HTML: a sandbox (no script, an opaque origin), images and styles from anywhere. */
export const FRAME_CSP =
  "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; img-src * data:; style-src * 'unsafe-inline'; font-src * data:";

export function notFoundPage(what: string): string {
  return layout('Not found', `<p>${escapeHtml(what)}</p><p><a href="/">← Inbox</a></p>`);
}
