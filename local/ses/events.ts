/**
 * The events SES publishes for a message sent through a configuration set with an EventBridge
 * destination, built the way SES builds them (the `detail` is the event record of the SES developer
 * guide, wrapped in the EventBridge envelope with SES's detail-types), and the mailbox simulator's
 * outcomes. Delivery to the consumer is EventQueue's job.
 */
import { randomUUID } from 'node:crypto';
import type { StoredEmail } from './store.ts';

/** The event types SES publishes through a configuration set. */
export const SES_EVENT_TYPES = [
  'Send',
  'Delivery',
  'Bounce',
  'Complaint',
  'Reject',
  'DeliveryDelay',
  'RenderingFailure',
  'Open',
  'Click',
  'Subscription',
] as const;
export type SesEventType = (typeof SES_EVENT_TYPES)[number];

/** The configuration set's MatchingEventTypes names, as the SES v2 API spells them. */
export const EVENT_TYPE_NAMES: Record<SesEventType, string> = {
  Send: 'SEND',
  Delivery: 'DELIVERY',
  Bounce: 'BOUNCE',
  Complaint: 'COMPLAINT',
  Reject: 'REJECT',
  DeliveryDelay: 'DELIVERY_DELAY',
  RenderingFailure: 'RENDERING_FAILURE',
  Open: 'OPEN',
  Click: 'CLICK',
  Subscription: 'SUBSCRIPTION',
};

/** EventBridge detail-type of each SES event. */
export const DETAIL_TYPES: Record<SesEventType, string> = {
  Send: 'Email Sent',
  Delivery: 'Email Delivered',
  Bounce: 'Email Bounced',
  Complaint: 'Email Complaint Received',
  Reject: 'Email Rejected',
  DeliveryDelay: 'Email Delivery Delayed',
  RenderingFailure: 'Email Rendering Failed',
  Open: 'Email Opened',
  Click: 'Email Clicked',
  Subscription: 'Email Subscribed',
};

export interface SesEventBridgeEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: 'aws.ses';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: SesEventDetail;
}

/** An SES event record: its eventType as SES spells it there ("Rendering Failure"), the `mail` object, the rest. */
export type SesEventDetail = { eventType: string; mail: Record<string, unknown> } & Record<string, unknown>;

export const LOCAL_ACCOUNT = '000000000000';
export const SIMULATOR_DOMAIN = 'simulator.amazonses.com';
const MTA = 'a8-1.smtp-out.local.amazonses.com';

export type SimulatorAddress = 'success' | 'bounce' | 'ooto' | 'complaint' | 'suppressionlist';

/** Which simulator mailbox an address is (labels allowed: bounce+label@simulator.amazonses.com). */
export function simulatorMailbox(address: string): SimulatorAddress | undefined {
  const at = address.lastIndexOf('@');
  if (at === -1 || address.slice(at + 1).toLowerCase() !== SIMULATOR_DOMAIN) return undefined;
  const local = address.slice(0, at).toLowerCase().split('+')[0] as string;
  return (['success', 'bounce', 'ooto', 'complaint', 'suppressionlist'] as const).find((m) => m === local);
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).replace(/>$/, '');

/** The `mail` object every event of a message carries. */
export function mailObject(email: StoredEmail, region: string): Record<string, unknown> {
  const headers = [
    { name: 'From', value: email.from },
    ...(email.replyTo.length > 0 ? [{ name: 'Reply-To', value: email.replyTo.join(', ') }] : []),
    { name: 'To', value: email.destination.to.join(', ') },
    ...(email.destination.cc.length > 0 ? [{ name: 'Cc', value: email.destination.cc.join(', ') }] : []),
    { name: 'Subject', value: email.subject },
    { name: 'MIME-Version', value: '1.0' },
    { name: 'Content-Type', value: 'multipart/alternative; boundary="sixback-local"' },
    ...email.headers,
  ];
  const source = email.from;
  return {
    timestamp: email.at,
    source,
    sourceArn: `arn:aws:ses:${region}:${LOCAL_ACCOUNT}:identity/${domainOf(source)}`,
    sendingAccountId: LOCAL_ACCOUNT,
    messageId: email.messageId,
    destination: [...email.destination.to, ...email.destination.cc, ...email.destination.bcc],
    headersTruncated: false,
    headers,
    commonHeaders: {
      from: [email.from],
      ...(email.replyTo.length > 0 ? { replyTo: email.replyTo } : {}),
      to: email.destination.to,
      ...(email.destination.cc.length > 0 ? { cc: email.destination.cc } : {}),
      messageId: email.messageId,
      subject: email.subject,
    },
    tags: email.tags,
  };
}

/** Where and when an event is put on the bus, and under which id. */
export interface EnvelopeOptions {
  region: string;
  at: Date;
  /** The sending account; default the local stack's (LOCAL_ACCOUNT). */
  account?: string;
  /** Default a fresh UUID, as EventBridge gives each event. */
  id?: string;
}

/**
 * The EventBridge event SES puts on the bus for one event record: the detail-type of its type, the
 * configuration set (from the record's tags) as its resource, EventBridge's time in whole seconds.
 * The local SES and the tests' generated events (test/support/ses-events.ts) both build them here.
 */
export function envelope(
  type: SesEventType,
  detail: SesEventDetail,
  options: EnvelopeOptions,
): SesEventBridgeEvent {
  const { region } = options;
  const account = options.account ?? LOCAL_ACCOUNT;
  const configurationSet = (detail.mail.tags as Record<string, string[]> | undefined)?.[
    'ses:configuration-set'
  ]?.[0];
  return {
    version: '0',
    id: options.id ?? randomUUID(),
    'detail-type': DETAIL_TYPES[type],
    source: 'aws.ses',
    account,
    time: options.at.toISOString().replace(/\.\d+Z$/, 'Z'),
    region,
    resources: configurationSet
      ? [`arn:aws:ses:${region}:${account}:configuration-set/${configurationSet}`]
      : [],
    detail,
  };
}

const feedbackId = () => `0100${Date.now().toString(16)}-${randomUUID()}-000000`;

/**
 * What SES reports for one accepted message, in order: Send, then per recipient what its mailbox does.
 * Ordinary addresses are delivered (the local SES delivers everything to its inbox); the simulator's
 * addresses do what the SES developer guide documents for them: success@ is delivered; bounce@ bounces
 * hard (Permanent/General, 550 5.1.1); ooto@ is delivered and answers with an automatic reply (an email,
 * not an event); complaint@ is delivered, then complained about (abuse); suppressionlist@ bounces as an
 * address on the suppression list does (Permanent/Suppressed) without being delivered.
 */
export function outcomeEvents(
  email: StoredEmail,
  now: Date,
): { type: SesEventType; body: Record<string, unknown> }[] {
  const at = now.toISOString();
  const recipients = [...email.destination.to, ...email.destination.cc, ...email.destination.bcc];
  const events: { type: SesEventType; body: Record<string, unknown> }[] = [
    { type: 'Send', body: { send: {} } },
  ];
  const delivered: string[] = [];
  const complained: string[] = [];
  for (const recipient of recipients) {
    const mailbox = simulatorMailbox(recipient);
    if (mailbox === 'bounce') {
      events.push({
        type: 'Bounce',
        body: {
          bounce: {
            feedbackId: feedbackId(),
            bounceType: 'Permanent',
            bounceSubType: 'General',
            bouncedRecipients: [
              {
                emailAddress: recipient,
                action: 'failed',
                status: '5.1.1',
                diagnosticCode: 'smtp; 550 5.1.1 user unknown',
              },
            ],
            timestamp: at,
            reportingMTA: `dsn; ${MTA}`,
          },
        },
      });
    } else if (mailbox === 'suppressionlist') {
      events.push({
        type: 'Bounce',
        body: {
          bounce: {
            feedbackId: feedbackId(),
            bounceType: 'Permanent',
            bounceSubType: 'Suppressed',
            bouncedRecipients: [
              {
                emailAddress: recipient,
                action: 'failed',
                status: '5.1.1',
                diagnosticCode:
                  'Amazon SES has suppressed sending to this address because it is on the suppression list.',
              },
            ],
            timestamp: at,
            reportingMTA: `dns; ${MTA}`,
          },
        },
      });
    } else {
      delivered.push(recipient);
      if (mailbox === 'complaint') complained.push(recipient);
    }
  }
  if (delivered.length > 0) {
    events.push({
      type: 'Delivery',
      body: {
        delivery: {
          timestamp: at,
          processingTimeMillis: Math.max(0, now.getTime() - Date.parse(email.at)),
          recipients: delivered,
          smtpResponse: '250 2.6.0 Message received',
          reportingMTA: MTA,
        },
      },
    });
  }
  if (complained.length > 0) {
    events.push({
      type: 'Complaint',
      body: {
        complaint: {
          feedbackId: feedbackId(),
          complaintSubType: null,
          complainedRecipients: complained.map((emailAddress) => ({ emailAddress })),
          timestamp: at,
          userAgent: 'Amazon SES Mailbox Simulator',
          complaintFeedbackType: 'abuse',
          arrivalDate: at,
        },
      },
    });
  }
  return events;
}

/**
 * Hands events to a consumer in batches, as an SQS queue read by a Lambda function does: up to
 * `batchSize` at a time, after at most `windowMs`, one batch at a time, asynchronously. A batch the
 * consumer throws on is offered again after a pause (at least once), up to `maxReceives` times, then
 * dropped with a log line (the dead-letter queue). A consumer may instead return the events that failed
 * (a partial batch response, as with ReportBatchItemFailures): only those are offered again.
 */
export class EventQueue<T> {
  private queue: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private waiters: (() => void)[] = [];
  delivered = 0;
  dropped = 0;

  constructor(
    private readonly consume: (batch: T[]) => Promise<unknown>,
    private readonly options: {
      batchSize?: number;
      windowMs?: number;
      retryMs?: number;
      maxReceives?: number;
      /** Told of each batch dropped after its last receive (the local stack's logger); default stderr. */
      onDropped?: (events: number, error: unknown) => void;
    } = {},
  ) {}

  push(...events: T[]): void {
    this.queue.push(...events);
    if (this.running) return;
    if (this.queue.length >= (this.options.batchSize ?? 100)) this.start();
    else this.timer ??= setTimeout(() => this.start(), this.options.windowMs ?? 100);
  }

  get pending(): number {
    return this.queue.length;
  }

  private start(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || this.queue.length === 0) return;
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.queue.length > 0) this.start();
      else for (const wake of this.waiters.splice(0)) wake();
    });
  }

  private async run(): Promise<void> {
    const size = this.options.batchSize ?? 100;
    while (this.queue.length > 0) {
      let batch = this.queue.splice(0, size);
      for (let receive = 1; ; receive++) {
        let retry: T[];
        let error: unknown;
        try {
          const failed = await this.consume(batch);
          retry = Array.isArray(failed) ? (failed as T[]) : [];
        } catch (thrown) {
          retry = batch;
          error = thrown;
        }
        this.delivered += batch.length - retry.length;
        if (retry.length === 0) break;
        if (receive >= (this.options.maxReceives ?? 8)) {
          this.dropped += retry.length;
          const cause = error === undefined ? new Error('reported as failed by the consumer') : error;
          if (this.options.onDropped) this.options.onDropped(retry.length, cause);
          else
            console.error(
              JSON.stringify({
                localSes: 'events dropped after retries',
                events: retry.length,
                error: String(cause),
              }),
            );
          break;
        }
        batch = retry;
        await new Promise((resolve) => setTimeout(resolve, (this.options.retryMs ?? 200) * receive));
      }
    }
  }

  /** Resolves once every event pushed so far has been handed over (or dropped). */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    if (!this.running) this.start();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
