/**
 * The .eml of a stored message (what `GET /get-emlContent` and the inbox's download give): RFC 5322
 * headers, the caller's own headers (List-Unsubscribe...) kept as they were, and a multipart/alternative
 * body with base64 parts. Raw messages are their own .eml.
 */
import type { StoredEmail } from './store.ts';

const CRLF = '\r\n';
const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/;

/** An RFC 2047 encoded word when the value is not plain ASCII. */
function headerValue(value: string): string {
  return NOT_PRINTABLE_ASCII.test(value) ? `=?UTF-8?B?${Buffer.from(value).toString('base64')}?=` : value;
}

function base64Lines(text: string): string {
  return (
    Buffer.from(text)
      .toString('base64')
      .match(/.{1,76}/g) ?? []
  ).join(CRLF);
}

export function toEml(email: StoredEmail): string {
  if (email.raw !== undefined) return email.raw;
  const boundary = `sixback-${email.messageId.slice(-12)}`;
  const lines = [
    `From: ${headerValue(email.from)}`,
    `To: ${email.destination.to.join(', ')}`,
    ...(email.destination.cc.length > 0 ? [`Cc: ${email.destination.cc.join(', ')}`] : []),
    ...(email.replyTo.length > 0 ? [`Reply-To: ${email.replyTo.join(', ')}`] : []),
    `Subject: ${headerValue(email.subject)}`,
    `Message-ID: <${email.messageId}@email.amazonses.com>`,
    `Date: ${new Date(email.at).toUTCString()}`,
    'MIME-Version: 1.0',
    ...email.headers.map((h) => `${h.name}: ${headerValue(h.value)}`),
  ];
  const parts: string[] = [];
  if (email.body.text !== undefined)
    parts.push(
      `Content-Type: text/plain; charset=UTF-8${CRLF}Content-Transfer-Encoding: base64${CRLF}${CRLF}${base64Lines(email.body.text)}`,
    );
  if (email.body.html !== undefined)
    parts.push(
      `Content-Type: text/html; charset=UTF-8${CRLF}Content-Transfer-Encoding: base64${CRLF}${CRLF}${base64Lines(email.body.html)}`,
    );
  lines.push(`Content-Type: multipart/alternative; boundary="${boundary}"`);
  return `${lines.join(CRLF)}${CRLF}${CRLF}${parts.map((p) => `--${boundary}${CRLF}${p}${CRLF}`).join('')}--${boundary}--${CRLF}`;
}

/** From, To, Cc and Subject of a raw message, from its header block (unfolded; encoded words left as they are). */
export function rawHeaders(raw: string): Map<string, string> {
  const end = raw.search(/\r?\n\r?\n/);
  const block = (end === -1 ? raw : raw.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return headers;
}
