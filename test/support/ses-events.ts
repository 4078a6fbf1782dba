/**
 * SES events as AWS documents them (event publishing records, "Examples of event data that Amazon SES
 * publishes"), wrapped the way EventBridge delivers them (`detail` is the SES record; `detail-type` such
 * as "Email Delivered") and the way SQS hands them to the function (one EventBridge event per record
 * body). fast-check arbitraries for each event type, so tests see the variety real events have.
 */
import fc from 'fast-check';
import { envelope, type SesEventDetail, type SesEventType } from '../../local/ses/events.ts';

export { SES_EVENT_TYPES as EVENT_TYPES, type SesEventType } from '../../local/ses/events.ts';

export interface Recipient {
  email: string;
  messageId: string;
  campaignId: string;
}

const BASE_TIME = Date.parse('2026-12-01T09:00:00.000Z');
const iso = (offsetMs: number) => new Date(BASE_TIME + offsetMs).toISOString();

/** The `mail` object: the same for every event of one message (tags echoed from the send). */
export function mailObject(r: Recipient) {
  return {
    timestamp: iso(0),
    source: 'news@sixback.example',
    sourceArn: 'arn:aws:ses:eu-west-1:123456789012:identity/sixback.example',
    sendingAccountId: '123456789012',
    messageId: r.messageId,
    destination: [r.email],
    headersTruncated: false,
    headers: [
      { name: 'From', value: 'news@sixback.example' },
      { name: 'To', value: r.email },
    ],
    commonHeaders: { from: ['news@sixback.example'], to: [r.email], messageId: r.messageId, subject: 'News' },
    tags: {
      'ses:configuration-set': ['sixback'],
      'ses:source-ip': ['192.0.2.0'],
      'ses:from-domain': ['sixback.example'],
      'ses:caller-identity': ['sixback-send-batch'],
      campaign: [r.campaignId],
    },
  };
}

/** The EventBridge event of a record, as the account and region of these examples put it on the bus. */
export const eventBridge = (detail: Record<string, unknown>, type: SesEventType, id: string) =>
  envelope(type, detail as SesEventDetail, {
    region: 'eu-west-1',
    account: '123456789012',
    at: new Date(BASE_TIME),
    id,
  });

export const sqsBatch = (events: unknown[]) => ({
  Records: events.map((event, i) => ({
    messageId: `m-${i}`,
    receiptHandle: `r-${i}`,
    body: JSON.stringify(event),
    attributes: {},
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:sixback-ses-events',
    awsRegion: 'eu-west-1',
  })),
});

const offset = fc.integer({ min: 1_000, max: 3 * 86_400_000 });
const ip = fc.ipV4();
const userAgent = fc.constantFrom(
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)',
  'Mozilla/5.0',
);
const feedbackId = fc
  .string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 16, maxLength: 16 })
  .map((h) => `0100018c${h}-000000`);
export const link = fc.constantFrom(
  'https://sixback.example/offer',
  'https://sixback.example/blog?utm_source=news',
  'https://docs.sixback.example/start#intro',
);

export const BOUNCES = [
  ['Permanent', 'General', '5.1.1', 'smtp; 550 5.1.1 user unknown'],
  ['Permanent', 'NoEmail', '5.1.1', 'smtp; 550 5.1.1 no such mailbox'],
  ['Permanent', 'Suppressed', '5.1.1', 'Amazon SES has suppressed sending to this address'],
  ['Transient', 'MailboxFull', '4.2.2', 'smtp; 452 4.2.2 mailbox full'],
  ['Transient', 'General', '4.4.7', 'smtp; 421 4.4.7 try again later'],
  ['Undetermined', 'Undetermined', '5.0.0', 'smtp; 550 unknown'],
] as const;

/** The SES record (`detail`) of one event of this type about this recipient, with generated particulars. */
export function sesDetail(type: SesEventType, r: Recipient): fc.Arbitrary<Record<string, unknown>> {
  const mail = mailObject(r);
  switch (type) {
    case 'Send':
      return fc.constant({ eventType: 'Send', mail, send: {} });
    case 'Delivery':
      return offset.map((t) => ({
        eventType: 'Delivery',
        mail,
        delivery: {
          timestamp: iso(t),
          processingTimeMillis: 546,
          recipients: [r.email],
          smtpResponse: '250 2.6.0 Message received',
          reportingMTA: 'a8-70.smtp-out.amazonses.com',
        },
      }));
    case 'Bounce':
      return fc
        .tuple(offset, fc.constantFrom(...BOUNCES), feedbackId)
        .map(([t, [bt, bst, status, diag], fid]) => ({
          eventType: 'Bounce',
          mail,
          bounce: {
            bounceType: bt,
            bounceSubType: bst,
            bouncedRecipients: [{ emailAddress: r.email, action: 'failed', status, diagnosticCode: diag }],
            timestamp: iso(t),
            feedbackId: fid,
            reportingMTA: 'dsn; e242-8.smtp-out.amazonses.com',
          },
        }));
    case 'Complaint':
      return fc
        .tuple(offset, feedbackId, fc.constantFrom('abuse', 'fraud', 'other', undefined))
        .map(([t, fid, feedbackType]) => ({
          eventType: 'Complaint',
          mail,
          complaint: {
            complainedRecipients: [{ emailAddress: r.email }],
            timestamp: iso(t),
            feedbackId: fid,
            userAgent: 'Mozilla/5.0',
            ...(feedbackType ? { complaintFeedbackType: feedbackType } : {}),
            arrivalDate: iso(t),
          },
        }));
    case 'Reject':
      return fc.constant({ eventType: 'Reject', mail, reject: { reason: 'Bad content' } });
    case 'DeliveryDelay':
      return fc
        .tuple(
          offset,
          fc.constantFrom('TransientCommunicationFailure', 'MailboxFull', 'IPFailure', 'General'),
        )
        .map(([t, delayType]) => ({
          eventType: 'DeliveryDelay',
          mail,
          deliveryDelay: {
            timestamp: iso(t),
            delayType,
            expirationTime: iso(t + 86_400_000),
            delayedRecipients: [
              { emailAddress: r.email, status: '4.4.1', diagnosticCode: 'smtp; 421 4.4.1 Unable to connect' },
            ],
            reportingMTA: 'a8-70.smtp-out.amazonses.com',
          },
        }));
    case 'RenderingFailure':
      return fc.constant({
        eventType: 'Rendering Failure',
        mail,
        failure: {
          errorMessage: "Attribute 'name' is not present in the rendering data.",
          templateName: 'news',
        },
      });
    case 'Open':
      return fc.tuple(offset, ip, userAgent).map(([t, ipAddress, ua]) => ({
        eventType: 'Open',
        mail,
        open: { ipAddress, timestamp: iso(t), userAgent: ua },
      }));
    case 'Click':
      return fc.tuple(offset, ip, userAgent, link).map(([t, ipAddress, ua, url]) => ({
        eventType: 'Click',
        mail,
        click: {
          ipAddress,
          link: url,
          linkTags: { campaign: [r.campaignId] },
          timestamp: iso(t),
          userAgent: ua,
        },
      }));
    case 'Subscription':
      return fc.tuple(offset, fc.boolean()).map(([t, all]) => ({
        eventType: 'Subscription',
        mail,
        subscription: {
          contactList: 'sixback',
          timestamp: iso(t),
          source: 'UnsubscribeHeader',
          newTopicPreferences: {
            unsubscribeAll: all,
            topicSubscriptionStatus: [{ topicName: 'news', subscriptionStatus: all ? 'OptIn' : 'OptOut' }],
          },
          oldTopicPreferences: {
            unsubscribeAll: false,
            topicSubscriptionStatus: [{ topicName: 'news', subscriptionStatus: 'OptIn' }],
          },
        },
      }));
  }
}

/** An EventBridge event of this type for this recipient. */
export const sesEvent = (type: SesEventType, r: Recipient) =>
  fc.tuple(sesDetail(type, r), fc.uuid()).map(([detail, id]) => eventBridge(detail, type, id));
