/**
 * The SES side: the sender identities (Easy DKIM for domains, their DNS records as stack outputs), the
 * configuration set campaign email goes through and its three tracking variants (opens, clicks, both:
 * SES tracks opens and clicks for mail through a set whose event destination has OPEN and CLICK, so a
 * campaign's tracking choice is which set it names, core/sending/tracking.ts), their events sent to
 * EventBridge, where a rule hands them to the SES events function; and the key of the unsubscribe links.
 *
 * Identities that already exist in SES (existingIdentities) are referenced by ARN and never created:
 * CloudFormation cannot create an identity the region already has. They keep their own DKIM and default
 * configuration set; sixback names its configuration set on every SendEmail anyway.
 */
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { trackingVariants } from '../../core/sending/tracking.ts';
import { acknowledge } from '../nag.ts';
import { DATA_TAG } from './storage.ts';

export interface EmailProps {
  /**
   * Identities to create: "example.com" (a domain: any address at it) or "news@example.com" (that
   * address only).
   */
  senderIdentities: string[];
  /** Identities that already exist in SES in this region: referenced, not created. */
  existingIdentities: string[];
  /** Verified recipient addresses, needed in IAM only while the account is in the SES sandbox. */
  sandboxRecipients: string[];
  configurationSetName: string;
  retainData: boolean;
  /** The complete ARN of an earlier deployment's retained unsubscribe key, to reuse instead of creating. */
  retainedUnsubscribeSecretArn?: string;
  /**
   * Your own (sub)domain for the open pixel and click redirects instead of SES's (TrackingOptions
   * CustomRedirectDomain, HTTPS required); it must be a verified identity pointing at SES's tracking domain.
   */
  customRedirectDomain?: string | undefined;
}

/**
 * The SES events sixback acts on (core/compliance/events.ts), as SES names them in the configuration set
 * and in EventBridge: bounces and complaints suppress the address; sends and deliveries are the
 * denominators of the campaign's complaint and bounce rates; the rest are counted on the campaign.
 */
export const SES_EVENTS = [
  { type: ses.EmailSendingEvent.SEND, detailType: 'Email Sent' },
  { type: ses.EmailSendingEvent.DELIVERY, detailType: 'Email Delivered' },
  { type: ses.EmailSendingEvent.BOUNCE, detailType: 'Email Bounced' },
  { type: ses.EmailSendingEvent.COMPLAINT, detailType: 'Email Complaint Received' },
  { type: ses.EmailSendingEvent.REJECT, detailType: 'Email Rejected' },
  { type: ses.EmailSendingEvent.RENDERING_FAILURE, detailType: 'Email Rendering Failed' },
  { type: ses.EmailSendingEvent.DELIVERY_DELAY, detailType: 'Email Delivery Delayed' },
] as const;

/** What the tracking variants add: OPEN makes SES add the pixel, CLICK makes it rewrite links. */
export const TRACKING_EVENTS = {
  opens: { type: ses.EmailSendingEvent.OPEN, detailType: 'Email Opened' },
  clicks: { type: ses.EmailSendingEvent.CLICK, detailType: 'Email Clicked' },
} as const;

export class Email extends Construct {
  /** The set that tracks nothing; `trackingSets` has the three that track opens, clicks or both. */
  readonly configurationSet: ses.ConfigurationSet;
  readonly trackingSets: ses.ConfigurationSet[];
  /** The identities this stack created. */
  readonly identities: ses.EmailIdentity[];
  /** The identities that already existed, by ARN. */
  readonly existingIdentities: ses.IEmailIdentity[];
  /** Signs the unsubscribe link in every email; the API verifies it (core/aws/secret.ts). */
  readonly unsubscribeSecret: secretsmanager.ISecret;
  private readonly props: EmailProps;

  constructor(scope: Construct, id: string, props: EmailProps) {
    super(scope, id);
    this.props = props;
    const bus = events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    const sets = trackingVariants(props.configurationSetName).map(({ name, tracking }) => {
      const tracked = tracking.opens || tracking.clicks;
      const id = `${tracking.opens && tracking.clicks ? 'Tracked' : tracking.opens ? 'Opens' : tracking.clicks ? 'Clicks' : ''}ConfigurationSet`;
      const set = new ses.ConfigurationSet(this, id, {
        configurationSetName: name,
        reputationMetrics: true,
        sendingEnabled: true,
        tlsPolicy: ses.ConfigurationSetTlsPolicy.REQUIRE,
        suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        ...(tracked && props.customRedirectDomain
          ? {
              customTrackingRedirectDomain: props.customRedirectDomain,
              // Links stay https end to end: an http redirect would warn on https destinations.
              customTrackingHttpsPolicy: ses.HttpsPolicy.REQUIRE,
            }
          : {}),
      });
      set.addEventDestination('EventBridge', {
        destination: ses.EventDestination.eventBus(bus),
        events: [
          ...SES_EVENTS.map((event) => event.type),
          ...(tracking.opens ? [TRACKING_EVENTS.opens.type] : []),
          ...(tracking.clicks ? [TRACKING_EVENTS.clicks.type] : []),
        ],
      });
      return set;
    });
    [this.configurationSet] = sets as [ses.ConfigurationSet];
    this.trackingSets = sets.slice(1);

    if (props.retainedUnsubscribeSecretArn) {
      // The key of every link already sent: reusing it keeps those links' signatures valid.
      this.unsubscribeSecret = secretsmanager.Secret.fromSecretCompleteArn(
        this,
        'UnsubscribeSecret',
        props.retainedUnsubscribeSecretArn,
      );
    } else {
      const secret = new secretsmanager.Secret(this, 'UnsubscribeSecret', {
        description: 'sixback: HMAC key of the unsubscribe links in sent emails',
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
        // Deleting it would break every unsubscribe link already sent.
        removalPolicy: props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      });
      Tags.of(secret).add(DATA_TAG, 'unsubscribeSecret');
      acknowledge(secret, [
        {
          id: 'AwsSolutions-SMG4',
          reason:
            'Rotating this key would invalidate the unsubscribe links in every email already sent, which must keep working (RFC 8058, CAN-SPAM).',
        },
      ]);
      this.unsubscribeSecret = secret;
    }

    this.identities = props.senderIdentities.map((identity, index) => {
      const isAddress = identity.includes('@');
      const emailIdentity = new ses.EmailIdentity(this, `Identity${index}`, {
        identity: isAddress ? ses.Identity.email(identity) : ses.Identity.domain(identity),
        configurationSet: this.configurationSet,
        ...(isAddress ? {} : { dkimIdentity: ses.DkimIdentity.easyDkim() }),
      });
      if (!isAddress) {
        emailIdentity.dkimRecords.forEach((record, n) => {
          // Stack-level ids keep the output names readable: Dkim1Record1..3 for the first domain.
          new CfnOutput(Stack.of(this), `Dkim${index + 1}Record${n + 1}`, {
            description: `Easy DKIM for ${identity}: add this CNAME record to the domain's DNS`,
            value: `${record.name} CNAME ${record.value}`,
          });
        });
      }
      return emailIdentity;
    });
    this.existingIdentities = props.existingIdentities.map((identity, index) =>
      ses.EmailIdentity.fromEmailIdentityName(this, `ExistingIdentity${index}`, identity),
    );
  }

  /** SendEmail as one of the configured identities, through the configuration set, and nothing else. */
  grantSend(grantee: iam.IGrantable): void {
    const stack = Stack.of(this);
    const sandboxArns = this.props.sandboxRecipients.map((address) =>
      stack.formatArn({
        service: 'ses',
        resource: 'identity',
        resourceName: address,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      }),
    );
    const configurationSetArns = [this.configurationSet, ...this.trackingSets].map((set) =>
      stack.formatArn({
        service: 'ses',
        resource: 'configuration-set',
        resourceName: set.configurationSetName,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SendAsConfiguredIdentities',
        actions: ['ses:SendEmail'],
        resources: [
          ...[...this.identities, ...this.existingIdentities].map((identity) => identity.emailIdentityArn),
          ...sandboxArns,
          ...configurationSetArns,
        ],
      }),
    );
  }

  /**
   * Hands the configuration set's events to a function, through a queue it reads in batches of up to 100:
   * a fast campaign produces thousands of delivery events a second, and one invocation per event would
   * mean one write per event on the campaign's counters (one DynamoDB item takes about 1,000 a second).
   */
  routeEventsTo(fn: lambda.IFunction): { rule: events.Rule; queue: sqs.Queue } {
    const deadLetters = new sqs.Queue(this, 'EventsDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(deadLetters, [
      { id: 'AwsSolutions-SQS3', reason: 'This is the dead-letter queue of the SES events queue.' },
    ]);
    const queue = new sqs.Queue(this, 'EventsQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Above the function's timeout, as Lambda requires of an event source queue.
      visibilityTimeout: Duration.minutes(6),
      // The most SQS keeps (the default is 4 days): a bounce still suppresses its address after a long
      // outage of the SES events function.
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: deadLetters, maxReceiveCount: 8 },
    });
    const rule = new events.Rule(this, 'EventsRule', {
      description: 'SES events of the sixback configuration sets (bounces, complaints, opens, clicks, ...)',
      eventPattern: {
        source: ['aws.ses'],
        detailType: [
          ...SES_EVENTS.map((event) => event.detailType),
          TRACKING_EVENTS.opens.detailType,
          TRACKING_EVENTS.clicks.detailType,
        ],
        detail: {
          mail: {
            tags: {
              'ses:configuration-set': [this.configurationSet, ...this.trackingSets].map(
                (set) => set.configurationSetName,
              ),
            },
          },
        },
      },
    });
    rule.addTarget(new targets.SqsQueue(queue, { retryAttempts: 8 }));
    fn.addEventSource(
      new SqsEventSource(queue, {
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(5),
        // The function answers with the messages that failed (handlers/ses-events.ts): only they come back.
        reportBatchItemFailures: true,
      }),
    );
    return { rule, queue };
  }
}
