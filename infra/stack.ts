/**
 * sixback on AWS, one concern per construct:
 *   Storage          the bucket and the four tables
 *   ImageHosting     CloudFront in front of the bucket's images/ prefix
 *   Email            SES identities, configuration set, its events, the unsubscribe-link secret
 *   Api              the IAM-authorised HTTP API
 *   Functions        every Lambda function and exactly what each may touch
 *   CampaignWorkflow statemachines/campaign.asl.json, wired to the task functions
 *   Monitoring       deliverability, SES reputation and failed-campaign alarms
 */
import { Annotations, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { Api } from './constructs/api.ts';
import { Email } from './constructs/email.ts';
import { EventBus } from './constructs/event-bus.ts';
import { API_ENTRY, Functions, SES_EVENTS_ENTRY } from './constructs/functions.ts';
import { ImageHosting } from './constructs/image-hosting.ts';
import { Monitoring } from './constructs/monitoring.ts';
import { Storage } from './constructs/storage.ts';
import { CampaignWorkflow } from './constructs/workflow.ts';
import { formatRetainedData, identityPlan, type SixbackParams } from './params.ts';

export interface SixbackStackProps extends StackProps {
  params: SixbackParams;
}

export class SixbackStack extends Stack {
  readonly storage: Storage;
  readonly images: ImageHosting;
  readonly email: Email;
  readonly api: Api;
  readonly functions: Functions;
  readonly workflow: CampaignWorkflow;
  readonly monitoring: Monitoring;
  readonly events: EventBus;

  constructor(scope: Construct, id: string, props: SixbackStackProps) {
    super(scope, id, props);
    const { params } = props;
    const logRetention = params.logRetentionDays as logs.RetentionDays;
    // Fixed names let IAM policies and environment variables name these without a dependency cycle.
    const stateMachineName = `${this.stackName}-campaign`;
    const stateMachineArn = CampaignWorkflow.arnFor(this, stateMachineName);

    const identities = identityPlan(params);
    const retained = params.retainedData;

    this.storage = new Storage(this, 'Storage', { ...params, retained });
    this.images = new ImageHosting(this, 'Images', { bucket: this.storage.bucket });
    this.email = new Email(this, 'Email', {
      senderIdentities: identities.create,
      existingIdentities: identities.reference,
      sandboxRecipients: params.sandboxRecipients,
      configurationSetName: this.stackName.toLowerCase(),
      retainData: params.retainData,
      ...(retained ? { retainedUnsubscribeSecretArn: retained.unsubscribeSecret } : {}),
      customRedirectDomain: params.customRedirectDomain,
    });
    this.api = new Api(this, 'Api', { logRetention });
    this.events = new EventBus(this, 'Events', { busName: this.stackName });
    this.functions = new Functions(this, 'Functions', {
      storage: this.storage,
      email: this.email,
      unsubscribeSecret: this.email.unsubscribeSecret,
      stateMachineName,
      stateMachineArn,
      publicBaseUrl: params.publicBaseUrl ?? this.api.url,
      imagesBaseUrl: this.images.baseUrl,
      senderIdentities: identities.all,
      unsubscribeMailto: params.unsubscribeMailto,
      defaultRate: params.defaultRate,
      sesTransport: params.sesTransport,
      dynamoTransport: params.dynamoTransport,
      maxWorkerRate: params.maxWorkerRate,
      maxInFlight: params.maxInFlight,
      functionLogLevel: params.functionLogLevel,
      logRecipients: params.logRecipients,
      sendBatchTimeoutSeconds: params.sendBatchTimeoutSeconds,
      sendBatchMemoryMb: params.sendBatchMemoryMb,
      logRetention,
      eventBus: this.events.bus,
    });
    if (this.functions.webhooks) this.events.deliverTo(this.functions.webhooks);
    this.workflow = new CampaignWorkflow(this, 'Workflow', {
      stateMachineName,
      functions: this.functions.tasks,
      bucket: this.storage.bucket,
      logLevel: params.logLevel,
      logRetention,
      retainData: params.retainData,
    });

    this.monitoring = new Monitoring(this, 'Monitoring', { stateMachine: this.workflow.stateMachine });

    if (this.functions.api) this.api.addHandler(this.functions.api);
    else
      Annotations.of(this).addWarningV2('sixback:noApi', `${API_ENTRY} does not exist yet: no API routes.`);
    if (this.functions.sesEvents) this.email.routeEventsTo(this.functions.sesEvents);
    else
      Annotations.of(this).addWarningV2(
        'sixback:noSesEvents',
        `${SES_EVENTS_ENTRY} does not exist yet: SES events are not acted on.`,
      );
    if (identities.all.length === 0) {
      Annotations.of(this).addWarningV2(
        'sixback:noSenderIdentities',
        'No sender identities: campaigns cannot send. Deploy with -c senderIdentities=example.com ' +
          '(or -c existingIdentities=example.com for one SES already has in this region).',
      );
    }

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'sixback --api URL' });
    new CfnOutput(this, 'BucketName', { value: this.storage.bucket.bucketName });
    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'ImagesBaseUrl', { value: this.images.baseUrl });
    new CfnOutput(this, 'ConfigurationSetName', {
      value: this.email.configurationSet.configurationSetName,
    });
    if (this.workflow.logGroup) {
      new CfnOutput(this, 'StateMachineLogGroup', { value: this.workflow.logGroup.logGroupName });
    }
    if (params.retainData || retained) {
      new CfnOutput(this, 'RetainedData', {
        description:
          'What survives cdk destroy. To take it back in a new deployment: cdk deploy -c retainedData=<this value>',
        value: formatRetainedData({
          bucket: this.storage.bucket.bucketName,
          templates: this.storage.tables.templates.tableName,
          campaigns: this.storage.tables.campaigns.tableName,
          ledger: this.storage.tables.ledger.tableName,
          suppression: this.storage.tables.suppression.tableName,
          analytics: this.storage.tables.analytics.tableName,
          unsubscribeSecret: this.email.unsubscribeSecret.secretArn,
        }),
      });
    }
  }
}
