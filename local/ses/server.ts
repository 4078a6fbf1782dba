/**
 * sixback's local SES v2: the part of the SES v2 REST API sixback and the local stack call, behaving as
 * SES does, with a mailbox on disk and the events SES would publish.
 *
 *   POST /v2/email/outbound-emails                         SendEmail (Simple and Raw content)
 *   GET  /v2/email/account                                 GetAccount (the quota, SentLast24Hours counted)
 *   GET  /v2/email/configuration-sets/{name}               GetConfigurationSet
 *   GET  /v2/email/configuration-sets/{name}/event-destinations
 *   GET  /v2/email/identities/{identity}                   GetEmailIdentity (every identity verified locally)
 *
 * Errors are SES's: the name in x-amzn-ErrorType and a JSON {message}, as the SDK parses them
 * (BadRequestException for a malformed request, NotFoundException for an unknown configuration set,
 * MessageRejected...). A message naming a configuration set is published to the set's event destination
 * as SES would (Send, Delivery, the mailbox simulator's bounces and complaints; Open and Click when the set
 * tracks them, with links rewritten and a pixel added), through `onEvents` in SQS-sized batches.
 *
 * Besides the API: the web inbox (/, /messages/{id}), the tracking endpoints (/t/o/{id}, /t/c/{id}/{n}),
 * and the read-back the tests use (GET /store, GET /get-emlContent?messageId=, POST /clear-store).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { checkAddress } from '../../core/recipients/email-address.ts';
import type { Tracking } from '../../core/sending/tracking.ts';
import { BodyRequest, listenOnLoopback, readBody } from '../http-server.ts';
import {
  EVENT_TYPE_NAMES,
  EventQueue,
  envelope,
  LOCAL_ACCOUNT,
  mailObject,
  outcomeEvents,
  type SesEventBridgeEvent,
  type SesEventType,
  SIMULATOR_DOMAIN,
  simulatorMailbox,
} from './events.ts';
import { FRAME_CSP, framedHtml, listPage, messagePage, notFoundPage } from './inbox.ts';
import { rawHeaders, toEml } from './mime.ts';
import { MailStore, type StoredEmail } from './store.ts';
import { addTracking } from './tracking.ts';

export interface LocalConfigurationSet {
  name: string;
  /** Event types its (EventBridge) destination matches, as SES v2 names them: SEND, DELIVERY, OPEN... */
  eventTypes: string[];
  /** TrackingOptions.CustomRedirectDomain, echoed by GetConfigurationSet (links still point here). */
  customRedirectDomain?: string;
}

export interface LocalSesOptions {
  /** Where the mailbox lives (created if missing). */
  directory: string;
  port?: number;
  region?: string;
  quota?: { max24HourSend: number; maxSendRate: number };
  configurationSets?: LocalConfigurationSet[];
  /**
   * Receives the events of messages sent through a configuration set, in batches; returns the events
   * that failed, to be offered again (or throws, and the whole batch is).
   */
  onEvents?: (events: SesEventBridgeEvent[]) => Promise<unknown>;
  events?: {
    batchSize?: number;
    windowMs?: number;
    retryMs?: number;
    maxReceives?: number;
    onDropped?: (events: number, error: unknown) => void;
  };
  clock?: () => Date;
}

const EMPTY = Buffer.alloc(0);
const JSON_TYPE = { 'content-type': 'application/json' };
const HTML_TYPE = { 'content-type': 'text/html; charset=utf-8' };
const SEND_PATH = '/v2/email/outbound-emails';
const MAX_RECIPIENTS = 50;
const TAG = /^[A-Za-z0-9_-]{1,256}$/;
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
/** Event types every sixback set publishes (infra/constructs/email.ts SES_EVENTS), without OPEN/CLICK. */
export const BASE_EVENT_TYPES = [
  'SEND',
  'DELIVERY',
  'BOUNCE',
  'COMPLAINT',
  'REJECT',
  'RENDERING_FAILURE',
  'DELIVERY_DELAY',
];

/** The event types of a set that tracks what `tracking` says. */
export function eventTypesFor(tracking: Tracking): string[] {
  return [...BASE_EVENT_TYPES, ...(tracking.opens ? ['OPEN'] : []), ...(tracking.clicks ? ['CLICK'] : [])];
}

class SesError extends Error {
  constructor(
    readonly status: number,
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

const bad = (message: string) => new SesError(400, 'BadRequestException', message);

/** The bare address of "Name <address>" or "address". */
function bareAddress(value: string): string {
  const angle = /<([^>]*)>\s*$/.exec(value);
  return (angle ? (angle[1] as string) : value).trim();
}

function addresses(field: string, list: unknown): string[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw bad(`${field} must be a list of addresses.`);
  return list.map((value) => {
    if (typeof value !== 'string') throw bad(`${field} must be a list of addresses.`);
    const check = checkAddress(bareAddress(value));
    if (!check.ok) throw new SesError(400, 'BadRequestException', `Illegal address: ${value}`);
    return value.trim();
  });
}

type SendInput = {
  FromEmailAddress?: unknown;
  Destination?: { ToAddresses?: unknown; CcAddresses?: unknown; BccAddresses?: unknown };
  ReplyToAddresses?: unknown;
  Content?: {
    Simple?: {
      Subject?: { Data?: unknown };
      Body?: { Text?: { Data?: unknown }; Html?: { Data?: unknown } };
      Headers?: { Name?: unknown; Value?: unknown }[];
    };
    Raw?: { Data?: unknown };
    Template?: unknown;
  };
  EmailTags?: { Name?: unknown; Value?: unknown }[];
  ConfigurationSetName?: unknown;
};

export class LocalSes {
  readonly store: MailStore;
  readonly events: EventQueue<SesEventBridgeEvent>;
  private readonly sets: Map<string, LocalConfigurationSet>;
  private readonly region: string;
  private readonly clock: () => Date;
  private server: Server | undefined;
  url = '';

  constructor(private readonly options: LocalSesOptions) {
    this.store = new MailStore(options.directory);
    this.sets = new Map((options.configurationSets ?? []).map((set) => [set.name, set]));
    this.region = options.region ?? 'us-east-1';
    this.clock = options.clock ?? (() => new Date());
    const consume = options.onEvents ?? (async () => undefined);
    this.events = new EventQueue(consume, options.events);
  }

  async start(): Promise<this> {
    const server = createServer({ IncomingMessage: BodyRequest }, (req, res) => {
      readBody(req, () => {
        this.route(req, res, req.body() ?? EMPTY).catch((error: unknown) => {
          if (error instanceof SesError) return sesError(res, error);
          if (!res.headersSent) sesError(res, new SesError(500, 'InternalFailure', String(error)));
        });
      });
    });
    this.url = await listenOnLoopback(server, this.options.port);
    this.server = server;
    return this;
  }

  /** Stops answering, hands over the events still queued, and closes the mailbox. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.events.idle();
    this.store.close();
  }

  private async route(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (method === 'POST' && path === SEND_PATH) return this.sendEmail(body, res);
    if (method === 'GET' && path === '/v2/email/account') return this.getAccount(res);
    let match = /^\/v2\/email\/configuration-sets\/([^/]+)(\/event-destinations)?$/.exec(path);
    if (method === 'GET' && match) {
      const set = this.configurationSet(decodeURIComponent(match[1] as string));
      return json(res, 200, match[2] ? destinationsOf(set, this.region) : describeSet(set));
    }
    match = /^\/v2\/email\/identities\/([^/]+)$/.exec(path);
    if (method === 'GET' && match) return json(res, 200, identity(decodeURIComponent(match[1] as string)));
    if (method === 'GET' && path === '/store') return this.dumpStore(url, res);
    if (method === 'GET' && path === '/get-emlContent') {
      const email = this.store.get(url.searchParams.get('messageId') ?? '');
      if (!email) return json(res, 400, { message: 'Email not found within the store' });
      return json(res, 200, { messageId: email.messageId, fileName: email.subject, body: toEml(email) });
    }
    if (method === 'POST' && path === '/clear-store') {
      this.store.clear();
      return json(res, 200, { message: 'Store cleared' });
    }
    if (method === 'GET' && path === '/api/messages') {
      const page = this.store.page({
        query: url.searchParams.get('q') ?? '',
        offset: Number(url.searchParams.get('offset') ?? 0) || 0,
        limit: Number(url.searchParams.get('limit') ?? 50) || 50,
      });
      return json(res, 200, { ...page, items: page.items.map(({ offset, length, ...rest }) => rest) });
    }
    if (method === 'GET' && (path === '/' || path === '/index.html')) {
      const query = url.searchParams.get('q') ?? '';
      const page = this.store.page({
        query,
        offset: Number(url.searchParams.get('offset') ?? 0) || 0,
        limit: Number(url.searchParams.get('limit') ?? 50) || 50,
      });
      return html(res, 200, listPage(page, query, this.store.count));
    }
    match = /^\/messages\/([^/]+)(\/html|\/eml)?$/.exec(path);
    if (method === 'GET' && match)
      return this.showMessage(decodeURIComponent(match[1] as string), match[2], res);
    match = /^\/t\/o\/([^/]+)$/.exec(path);
    if (method === 'GET' && match) return this.open(decodeURIComponent(match[1] as string), req, res);
    match = /^\/t\/c\/([^/]+)\/(\d+)$/.exec(path);
    if (method === 'GET' && match)
      return this.click(decodeURIComponent(match[1] as string), Number(match[2]), req, res);
    throw new SesError(404, 'NotFoundException', `The local SES does not implement ${method} ${path}`);
  }

  private configurationSet(name: string): LocalConfigurationSet {
    const set = this.sets.get(name);
    if (!set) throw new SesError(404, 'NotFoundException', `Configuration set <${name}> does not exist.`);
    return set;
  }

  private sendEmail(body: Buffer, res: ServerResponse): void {
    let input: SendInput;
    try {
      input = JSON.parse(body.toString('utf8')) as SendInput;
    } catch {
      throw new SesError(400, 'SerializationException', 'The request body is not valid JSON.');
    }
    const content = input?.Content;
    if (!content || typeof content !== 'object') throw bad('Content is required.');
    if (content.Template !== undefined && !content.Simple && !content.Raw)
      throw bad('Template content is not supported by the local SES; send Simple or Raw content.');
    const set =
      input.ConfigurationSetName === undefined || input.ConfigurationSetName === ''
        ? undefined
        : this.configurationSet(String(input.ConfigurationSetName));
    const tags: Record<string, string[]> = {};
    for (const tag of input.EmailTags ?? []) {
      if (
        typeof tag?.Name !== 'string' ||
        !TAG.test(tag.Name) ||
        typeof tag.Value !== 'string' ||
        !TAG.test(tag.Value)
      )
        throw bad(
          `Invalid tag ${JSON.stringify(tag)}: names and values are 1-256 ASCII letters, digits, "_" or "-".`,
        );
      const values = tags[tag.Name] ?? [];
      values.push(tag.Value);
      tags[tag.Name] = values;
    }
    const now = this.clock();
    const messageId = `0100${now.getTime().toString(16).padStart(12, '0')}-${randomUUID()}-000000`;
    let email: StoredEmail;
    if (content.Raw) {
      email = this.rawEmail(messageId, now, input, String(content.Raw.Data ?? ''));
    } else {
      const simple = content.Simple;
      if (!simple) throw bad('Content must have Simple or Raw.');
      if (typeof input.FromEmailAddress !== 'string' || input.FromEmailAddress === '')
        throw bad('FromEmailAddress is required with Simple content.');
      addresses('FromEmailAddress', [input.FromEmailAddress]);
      const subject = simple.Subject?.Data;
      if (typeof subject !== 'string') throw bad('Content.Simple.Subject.Data is required.');
      const htmlBody = simple.Body?.Html?.Data;
      const textBody = simple.Body?.Text?.Data;
      if (typeof htmlBody !== 'string' && typeof textBody !== 'string')
        throw bad('Content.Simple.Body needs Html or Text.');
      const destination = {
        to: addresses('ToAddresses', input.Destination?.ToAddresses),
        cc: addresses('CcAddresses', input.Destination?.CcAddresses),
        bcc: addresses('BccAddresses', input.Destination?.BccAddresses),
      };
      email = {
        messageId,
        at: now.toISOString(),
        from: input.FromEmailAddress,
        destination,
        replyTo: addresses('ReplyToAddresses', input.ReplyToAddresses),
        subject,
        body: {
          ...(typeof htmlBody === 'string' ? { html: htmlBody } : {}),
          ...(typeof textBody === 'string' ? { text: textBody } : {}),
        },
        headers: (simple.Headers ?? []).map((h) => {
          if (typeof h?.Name !== 'string' || typeof h.Value !== 'string')
            throw bad('Each header needs a Name and a Value.');
          return { name: h.Name, value: h.Value };
        }),
        tags,
      };
    }
    const recipients =
      email.destination.to.length + email.destination.cc.length + email.destination.bcc.length;
    if (recipients === 0) throw bad('Destination needs at least one recipient.');
    if (recipients > MAX_RECIPIENTS)
      throw new SesError(400, 'MessageRejected', 'Recipient count exceeds 50.');
    email.tags = {
      ...tags,
      ...(set ? { 'ses:configuration-set': [set.name] } : {}),
      'ses:source-ip': ['127.0.0.1'],
      'ses:from-domain': [bareAddress(email.from).split('@')[1] ?? ''],
      'ses:caller-identity': ['local'],
    };
    if (set) {
      email.configurationSet = set.name;
      const opens = set.eventTypes.includes('OPEN');
      const clicks = set.eventTypes.includes('CLICK');
      if ((opens || clicks) && email.body.html !== undefined) {
        const id = encodeURIComponent(messageId);
        const tracked = addTracking(email.body.html, {
          opens,
          clicks,
          openUrl: `${this.url}/t/o/${id}`,
          clickUrl: (index) => `${this.url}/t/c/${id}/${index}`,
        });
        email.body.html = tracked.html;
        if (tracked.links.length > 0) email.links = tracked.links;
        email.trackingBase = this.url;
      }
    }
    this.store.add(email);
    res.writeHead(200, JSON_TYPE).end(`{"MessageId":"${messageId}"}`);
    if (set) this.publishOutcome(email, set, now);
    this.autoRespond(email, now);
  }

  private rawEmail(messageId: string, now: Date, input: SendInput, data: string): StoredEmail {
    const raw = Buffer.from(data, 'base64').toString('utf8');
    if (raw.trim() === '') throw bad('Content.Raw.Data is empty.');
    const headers = rawHeaders(raw);
    const split = (value: string | undefined) =>
      (value ?? '')
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean);
    const from = input.FromEmailAddress ? String(input.FromEmailAddress) : headers.get('from');
    if (!from) throw bad('The raw message has no From header and no FromEmailAddress was given.');
    const given =
      input.Destination?.ToAddresses || input.Destination?.CcAddresses || input.Destination?.BccAddresses;
    const destination = given
      ? {
          to: addresses('ToAddresses', input.Destination?.ToAddresses),
          cc: addresses('CcAddresses', input.Destination?.CcAddresses),
          bcc: addresses('BccAddresses', input.Destination?.BccAddresses),
        }
      : {
          to: addresses('To', split(headers.get('to'))),
          cc: addresses('Cc', split(headers.get('cc'))),
          bcc: addresses('Bcc', split(headers.get('bcc'))),
        };
    return {
      messageId,
      at: now.toISOString(),
      from,
      destination,
      replyTo: split(headers.get('reply-to')),
      subject: headers.get('subject') ?? '',
      body: {},
      headers: [],
      tags: {},
      raw,
    };
  }

  private publish(type: SesEventType, email: StoredEmail, body: Record<string, unknown>, at: Date): void {
    const set = email.configurationSet ? this.sets.get(email.configurationSet) : undefined;
    if (!set?.eventTypes.includes(EVENT_TYPE_NAMES[type])) return;
    this.events.push(
      envelope(
        type,
        { eventType: type, mail: mailObject(email, this.region), ...body },
        { region: this.region, at },
      ),
    );
  }

  private publishOutcome(email: StoredEmail, set: LocalConfigurationSet, now: Date): void {
    const mail = mailObject(email, this.region);
    const events = outcomeEvents(email, now)
      .filter((event) => set.eventTypes.includes(EVENT_TYPE_NAMES[event.type]))
      .map((event) =>
        envelope(
          event.type,
          { eventType: event.type, mail, ...event.body },
          { region: this.region, at: now },
        ),
      );
    if (events.length > 0) this.events.push(...events);
  }

  /** ooto@ answers with an RFC 3834 automatic reply to the sender, as the simulator does (no event). */
  private autoRespond(email: StoredEmail, now: Date): void {
    const ooto = [...email.destination.to, ...email.destination.cc].find(
      (a) => simulatorMailbox(a) === 'ooto',
    );
    if (!ooto) return;
    const to = email.replyTo[0] ?? email.from;
    this.store.add({
      messageId: `0100${now.getTime().toString(16).padStart(12, '0')}-${randomUUID()}-000000`,
      at: now.toISOString(),
      from: `ooto@${SIMULATOR_DOMAIN}`,
      destination: { to: [to], cc: [], bcc: [] },
      replyTo: [],
      subject: `Out of the office: ${email.subject}`,
      body: { text: 'I am out of the office and will reply when I am back. (Amazon SES mailbox simulator)' },
      headers: [
        { name: 'Auto-Submitted', value: 'auto-replied' },
        { name: 'In-Reply-To', value: `<${email.messageId}@email.amazonses.com>` },
      ],
      tags: {},
      autoResponse: true,
    });
  }

  private getAccount(res: ServerResponse): void {
    const quota = this.options.quota ?? { max24HourSend: 1_000_000, maxSendRate: 1000 };
    json(res, 200, {
      DedicatedIpAutoWarmupEnabled: false,
      Details: {
        AdditionalContactEmailAddresses: [],
        ContactLanguage: 'EN',
        MailType: 'MARKETING',
        ReviewDetails: { CaseId: 'local', Status: 'GRANTED' },
        UseCaseDescription: 'sixback local stack',
        WebsiteURL: 'http://localhost',
      },
      EnforcementStatus: 'HEALTHY',
      ProductionAccessEnabled: true,
      SendingEnabled: true,
      SendQuota: {
        Max24HourSend: quota.max24HourSend,
        MaxSendRate: quota.maxSendRate,
        SentLast24Hours: this.store.countSince(this.clock().getTime() - 86_400_000),
      },
      SuppressionAttributes: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
    });
  }

  /** Every stored message, oldest first, streamed (one body read from disk at a time). */
  private dumpStore(url: URL, res: ServerResponse): void {
    const entries = this.store.all();
    const offset = Number(url.searchParams.get('offset') ?? 0) || 0;
    const limit = Number(url.searchParams.get('limit') ?? entries.length) || entries.length;
    res.writeHead(200, JSON_TYPE);
    res.write('{"emails":[');
    const end = Math.min(entries.length, offset + limit);
    for (let i = offset; i < end; i++) {
      const email = this.view(this.store.read(entries[i] as (typeof entries)[number]));
      // `at` in seconds, as aws-ses-v2-local gave it (the tests and scripts that read /store compare it).
      const at = Math.floor(Date.parse(email.at) / 1000);
      res.write(
        `${i > offset ? ',' : ''}${JSON.stringify({ ...email, at, timestamp: email.at, attachments: [] })}`,
      );
    }
    res.end(']}');
  }

  /** The message as it reads now: tracking links point at this server, whatever port it had when sent. */
  private view(email: StoredEmail): StoredEmail {
    if (email.trackingBase && email.trackingBase !== this.url && email.body.html !== undefined)
      email.body.html = email.body.html.split(`${email.trackingBase}/t/`).join(`${this.url}/t/`);
    return email;
  }

  private async showMessage(id: string, part: string | undefined, res: ServerResponse): Promise<void> {
    const stored = this.store.get(id);
    if (!stored) return html(res, 404, notFoundPage(`No message ${id} in the local inbox.`));
    const email = this.view(stored);
    if (part === '/eml') {
      res
        .writeHead(200, {
          'content-type': 'message/rfc822',
          'content-disposition': `attachment; filename="${email.messageId}.eml"`,
        })
        .end(toEml(email));
      return;
    }
    let content = email.body;
    if (email.raw !== undefined) {
      const { simpleParser } = await import('mailparser');
      const parsed = await simpleParser(email.raw);
      content = {
        ...(typeof parsed.html === 'string' ? { html: parsed.html } : {}),
        ...(parsed.text !== undefined ? { text: parsed.text } : {}),
      };
    }
    if (part === '/html') {
      res
        .writeHead(200, {
          ...HTML_TYPE,
          'content-security-policy': FRAME_CSP,
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
        })
        .end(framedHtml(content.html ?? ''));
      return;
    }
    html(res, 200, messagePage(email, content));
  }

  private open(id: string, req: IncomingMessage, res: ServerResponse): void {
    const email = this.store.get(id);
    if (email) {
      const at = this.clock();
      this.publish('Open', email, { open: { ...who(req), timestamp: at.toISOString() } }, at);
    }
    res.writeHead(200, { 'content-type': 'image/gif', 'cache-control': 'no-store, max-age=0' }).end(PIXEL);
  }

  private click(id: string, index: number, req: IncomingMessage, res: ServerResponse): void {
    const email = this.store.get(id);
    const link = email?.links?.[index];
    if (!email || !link) {
      html(res, 404, notFoundPage('This tracked link is not in the local inbox.'));
      return;
    }
    const at = this.clock();
    this.publish(
      'Click',
      email,
      { click: { ...who(req), timestamp: at.toISOString(), link: link.url, linkTags: link.tags } },
      at,
    );
    res.writeHead(302, { location: link.url, 'cache-control': 'no-store' }).end();
  }
}

function who(req: IncomingMessage) {
  return { ipAddress: req.socket.remoteAddress ?? '127.0.0.1', userAgent: req.headers['user-agent'] ?? '' };
}

function describeSet(set: LocalConfigurationSet) {
  return {
    ConfigurationSetName: set.name,
    DeliveryOptions: { TlsPolicy: 'REQUIRE' },
    ReputationOptions: { ReputationMetricsEnabled: true },
    SendingOptions: { SendingEnabled: true },
    SuppressionOptions: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
    ...(set.customRedirectDomain
      ? { TrackingOptions: { CustomRedirectDomain: set.customRedirectDomain, HttpsPolicy: 'REQUIRE' } }
      : {}),
  };
}

function destinationsOf(set: LocalConfigurationSet, region: string) {
  return {
    EventDestinations: [
      {
        Name: 'EventBridge',
        Enabled: true,
        MatchingEventTypes: set.eventTypes,
        EventBridgeDestination: {
          EventBusArn: `arn:aws:events:${region}:${LOCAL_ACCOUNT}:event-bus/default`,
        },
      },
    ],
  };
}

function identity(name: string) {
  const isAddress = name.includes('@');
  return {
    IdentityType: isAddress ? 'EMAIL_ADDRESS' : 'DOMAIN',
    FeedbackForwardingStatus: true,
    VerifiedForSendingStatus: true,
    VerificationStatus: 'SUCCESS',
    DkimAttributes: isAddress
      ? { SigningEnabled: false, Status: 'NOT_STARTED', Tokens: [] }
      : { SigningEnabled: true, Status: 'SUCCESS', Tokens: [], SigningAttributesOrigin: 'AWS_SES' },
    MailFromAttributes: { BehaviorOnMxFailure: 'USE_DEFAULT_VALUE', MailFromDomainStatus: 'NOT_STARTED' },
    Policies: {},
    Tags: [],
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, JSON_TYPE).end(JSON.stringify(body));
}

function html(res: ServerResponse, status: number, page: string): void {
  res.writeHead(status, HTML_TYPE).end(page);
}

function sesError(res: ServerResponse, error: SesError): void {
  if (res.headersSent) return;
  res
    .writeHead(error.status, { ...JSON_TYPE, 'x-amzn-ErrorType': error.name })
    .end(JSON.stringify({ message: error.message }));
}

export async function startLocalSes(options: LocalSesOptions): Promise<LocalSes> {
  return new LocalSes(options).start();
}
