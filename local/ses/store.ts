/**
 * The local SES's mailbox on disk: every accepted message appended as one JSON line to messages.jsonl,
 * and a one-line summary of it (addresses, subject, campaign, where its line starts and how long it is)
 * appended to index.jsonl. Only the summaries are kept in memory (a few hundred bytes each, so 100,000
 * messages cost tens of MB, not the GB their bodies would); a message is read back from its offset when
 * someone opens it. Appends are synchronous so a message is readable as soon as SendEmail answers, and a
 * killed process loses nothing the OS already has. A torn last line (a crash mid-append) is dropped on open.
 */
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { TrackedLink } from './tracking.ts';

export interface StoredEmail {
  messageId: string;
  /** ISO time SES accepted it. */
  at: string;
  from: string;
  destination: { to: string[]; cc: string[]; bcc: string[] };
  replyTo: string[];
  subject: string;
  body: { html?: string; text?: string };
  /** Headers the caller set (Simple content), in order. */
  headers: { name: string; value: string }[];
  /** The message tags as SES echoes them in events (EmailTags and the ses: ones). */
  tags: Record<string, string[]>;
  configurationSet?: string;
  /** Raw MIME (Content.Raw), when the message came in that way. */
  raw?: string;
  /** The links click tracking rewrote, by index, and the URL base the rewritten links point at. */
  links?: TrackedLink[];
  trackingBase?: string;
  /** Set on the automatic reply the ooto@ simulator address sends back. */
  autoResponse?: boolean;
}

export interface IndexEntry {
  id: string;
  /** Milliseconds since the epoch. */
  t: number;
  from: string;
  to: string;
  subject: string;
  campaign: string;
  offset: number;
  length: number;
}

export interface Page {
  total: number;
  offset: number;
  limit: number;
  items: IndexEntry[];
}

const MESSAGES = 'messages.jsonl';
const INDEX = 'index.jsonl';

export class MailStore {
  private readonly entries: IndexEntry[] = [];
  private readonly byId = new Map<string, IndexEntry>();
  private readonly messages: number;
  private readonly index: number;
  private size: number;

  constructor(readonly directory: string) {
    mkdirSync(directory, { recursive: true });
    this.messages = openSync(join(directory, MESSAGES), 'a+');
    this.index = openSync(join(directory, INDEX), 'a+');
    this.size = fstatSync(this.messages).size;
    this.load();
  }

  private load(): void {
    const text = readFileSync(join(this.directory, INDEX), 'utf8');
    let kept = 0;
    let end = 0;
    let torn = false;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let entry: IndexEntry;
      try {
        entry = JSON.parse(line) as IndexEntry;
      } catch {
        torn = true;
        break;
      }
      if (entry.offset + entry.length > this.size) {
        torn = true;
        break;
      }
      this.entries.push(entry);
      this.byId.set(entry.id, entry);
      kept = entry.offset + entry.length;
      end += Buffer.byteLength(line) + 1;
    }
    // Whatever follows the last whole entry (a torn append) goes, in both files.
    if (torn) ftruncateSync(this.index, end);
    if (kept < this.size) {
      ftruncateSync(this.messages, kept);
      this.size = kept;
    }
  }

  get count(): number {
    return this.entries.length;
  }

  add(email: StoredEmail): IndexEntry {
    const line = Buffer.from(`${JSON.stringify(email)}\n`);
    writeSync(this.messages, line);
    const entry: IndexEntry = {
      id: email.messageId,
      t: Date.parse(email.at),
      from: email.from,
      to: [...email.destination.to, ...email.destination.cc, ...email.destination.bcc].join(', '),
      subject: email.subject,
      campaign: email.tags.campaign?.[0] ?? '',
      offset: this.size,
      length: line.length,
    };
    this.size += line.length;
    writeSync(this.index, `${JSON.stringify(entry)}\n`);
    this.entries.push(entry);
    this.byId.set(entry.id, entry);
    return entry;
  }

  entry(id: string): IndexEntry | undefined {
    return this.byId.get(id);
  }

  get(id: string): StoredEmail | undefined {
    const entry = this.byId.get(id);
    return entry ? this.read(entry) : undefined;
  }

  read(entry: IndexEntry): StoredEmail {
    const buffer = Buffer.allocUnsafe(entry.length);
    readSync(this.messages, buffer, 0, entry.length, entry.offset);
    return JSON.parse(buffer.toString('utf8')) as StoredEmail;
  }

  /** Oldest first, as the messages came. */
  all(): readonly IndexEntry[] {
    return this.entries;
  }

  /**
   * Newest first, `limit` from `offset`, of the messages whose recipients, subject or campaign contain
   * `query` (any case); `to:`, `subject:` and `campaign:` prefixes narrow it to that field.
   */
  page(options: { query?: string; offset?: number; limit?: number }): Page {
    const offset = Math.max(0, options.offset ?? 0);
    const limit = Math.min(500, Math.max(1, options.limit ?? 50));
    const match = matcher(options.query ?? '');
    const items: IndexEntry[] = [];
    let total = 0;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i] as IndexEntry;
      if (match && !match(entry)) continue;
      if (total >= offset && items.length < limit) items.push(entry);
      total++;
    }
    return { total, offset, limit, items };
  }

  /** Messages accepted since this time (GetAccount's SentLast24Hours). */
  countSince(ms: number): number {
    let n = 0;
    for (let i = this.entries.length - 1; i >= 0 && (this.entries[i] as IndexEntry).t >= ms; i--) n++;
    return n;
  }

  clear(): void {
    ftruncateSync(this.messages, 0);
    ftruncateSync(this.index, 0);
    this.size = 0;
    this.entries.length = 0;
    this.byId.clear();
  }

  close(): void {
    closeSync(this.messages);
    closeSync(this.index);
  }
}

function matcher(query: string): ((entry: IndexEntry) => boolean) | undefined {
  const q = query.trim().toLowerCase();
  if (q === '') return undefined;
  const field = /^(to|subject|campaign):\s*(.*)$/.exec(q);
  if (field) {
    const [, name, value] = field as unknown as [string, 'to' | 'subject' | 'campaign', string];
    return (entry) => entry[name].toLowerCase().includes(value);
  }
  return (entry) =>
    entry.to.toLowerCase().includes(q) ||
    entry.subject.toLowerCase().includes(q) ||
    entry.campaign.toLowerCase().includes(q);
}
