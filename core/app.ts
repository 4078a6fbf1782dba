/**
 * The composition root: from a configuration to every dependency the core needs. Lambda handlers, the
 * local engine, the API and the CLI all build their world here, so they run the same code paths.
 */

import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { analyticsEngagementSource, type VariantEngagementSource } from './abtest/engagement.ts';
import { type AwsClients, type ClientTracer, createClients } from './aws/clients.ts';
import { type DynamoDocuments, SdkDocuments } from './aws/documents.ts';
import { DynamoRpc } from './aws/fast/dynamo-rpc.ts';
import { RpcDocuments } from './aws/fast/rpc-documents.ts';
import { SesV2Transport } from './aws/fast/ses-transport.ts';
import type { CampaignServiceDeps } from './campaigns/deps.ts';
import { defaultRateWithin, sesSendQuota } from './campaigns/quota.ts';
import { type CampaignGateView, CampaignStore, gateViewInput } from './campaigns/store.ts';
import { AnalyticsStore } from './compliance/analytics-store.ts';
import type { SesEventDeps } from './compliance/events.ts';
import { DynamoSuppressionList } from './compliance/suppression.ts';
import { UnsubscribeLinks } from './compliance/unsubscribe.ts';
import type { SixbackConfig } from './config.ts';
import { JobStore } from './jobs/store.ts';
import { createLogger, type Logger, PseudonymKey } from './logging.ts';
import { type EmailSender, SesEmailSender } from './sending/email-sender.ts';
import { campaignGate } from './sending/gate.ts';
import { LatencyFloor } from './sending/in-flight-window.ts';
import { DynamoLedger, type Ledger } from './sending/ledger.ts';
import { LearntRates, type SenderDeps } from './sending/send-batch.ts';
import { CompiledTemplateCache } from './templates/render.ts';
import { TemplateStore } from './templates/store.ts';
import type { WebhookEvent } from './webhooks/events.ts';
import { statusChangedEvent } from './webhooks/events.ts';
import {
  EventBridgePublisher,
  LocalWebhookPublisher,
  NO_PUBLISHER,
  type WebhookPublisher,
} from './webhooks/publish.ts';
import { WebhookStore } from './webhooks/store.ts';
import type { UrlPolicy } from './webhooks/url-policy.ts';
import type { WorkflowDeps } from './workflow/deps.ts';
import type { Orchestrator } from './workflow/orchestrator.ts';

export interface AppDeps {
  config: SixbackConfig;
  clients: AwsClients;
  clock: () => Date;
  /** The one operational logger (core/logging.ts), handed to every deps object below. */
  logger: Logger;
  /**
   * The key of the logger's address pseudonyms: known from the configuration, or set once read from
   * Secrets Manager (handlers/runtime.ts does before the first line).
   */
  logKey: PseudonymKey;
  templates: TemplateStore;
  campaigns: CampaignStore;
  /** Jobs the API starts and clients poll (core/jobs/jobs.ts), kept in the campaigns table. */
  jobs: JobStore;
  /** Per-recipient outcomes of SES events and the campaign time series. */
  analytics: AnalyticsStore;
  ledger: Ledger;
  suppression: DynamoSuppressionList;
  emails: EmailSender;
  workflow: WorkflowDeps;
  sender: SenderDeps;
  /** Signs and verifies unsubscribe links (the sender's headers, the API's /u/ routes). */
  unsubscribeLinks: UnsubscribeLinks;
  /** Per-variant unique opens and clicks of A/B test samples, from the analytics store; read by PickWinner. */
  engagement: VariantEngagementSource;
  /** How the sender's tables (ledger, suppression list, the gate's campaign read) reach DynamoDB: the SDK
   * or the thin transport, from dynamoTransport. Close it with the clients. */
  documents: DynamoDocuments;
  /** Webhook subscriptions and logs; undefined without a webhooks table. */
  webhooks: WebhookStore | undefined;
  /** Where campaign status changes and recipient events go: the event bus on AWS, in-process locally. */
  publisher: WebhookPublisher;
  /** What webhook URLs may point at (core/webhooks/url-policy.ts). */
  webhookUrlPolicy: UrlPolicy;
}

export interface AppOverrides {
  clock?: () => Date;
  emails?: EmailSender;
  clients?: AwsClients;
  /** Where finished log lines go instead of the process's output (tests read them). */
  logSink?: (line: string, level: string) => void;
  /** Traces the AWS clients' calls (Powertools' Tracer, on Lambda only: handlers/runtime.ts). */
  tracer?: ClientTracer;
}

export function createAppDeps(config: SixbackConfig, overrides: AppOverrides = {}): AppDeps {
  const clients = overrides.clients ?? createClients(config, overrides.tracer);
  const clock = overrides.clock ?? (() => new Date());
  const logKey = new PseudonymKey(config.logKey);
  const logger = createLogger({
    level: config.logLevel,
    format: config.logFormat,
    recipients: config.logRecipients,
    recipientKey: logKey,
    sink: overrides.logSink,
  });
  const templates = new TemplateStore(clients.ddb, config.tables.templates, clock);
  const campaigns = new CampaignStore(clients.ddb, config.tables.campaigns, clock, config.tables.analytics);
  const analytics = new AnalyticsStore(
    clients.ddb,
    config.tables.analytics,
    clock,
    Math.random,
    config.countInFlightMs,
  );
  // The one place the DynamoDB transport is chosen: the stores over it never ask which it is.
  const documents: DynamoDocuments =
    config.dynamoTransport === 'fast'
      ? new RpcDocuments(
          new DynamoRpc({
            region: config.region,
            endpoint: config.endpoints.dynamodb,
            credentials: clients.ddb.config.credentials,
          }),
        )
      : new SdkDocuments(clients.ddb);
  const ledger = new DynamoLedger(documents, config.tables.ledger, clock);
  const suppression = new DynamoSuppressionList(documents, config.tables.suppression, clock);
  const emails =
    overrides.emails ??
    (config.sesTransport === 'fast'
      ? new SesV2Transport({
          region: config.region,
          endpoint: config.endpoints.ses,
          credentials: clients.ses.config.credentials,
        })
      : new SesEmailSender(clients.ses));
  const workflow: WorkflowDeps = {
    s3: clients.s3,
    bucket: config.bucket,
    campaigns,
    templates,
    ledger,
    clock,
    configurationSet: config.configurationSet,
    trackingConfigurationSets: config.trackingConfigurationSets,
    sendQuota: () => sesSendQuota(clients.ses),
    maxWorkerRate: config.maxWorkerRate,
    logger,
  };
  const engagement = analyticsEngagementSource(
    (id) => analytics.counterItems(id),
    (id) => campaigns.find(id),
  );
  const unsubscribeLinks = new UnsubscribeLinks(config);
  const webhooks = config.tables.webhooks
    ? new WebhookStore(clients.ddb, config.tables.webhooks, clock)
    : undefined;
  const webhookUrlPolicy: UrlPolicy = { allowPrivate: config.webhookAllowPrivate };
  let publisher: WebhookPublisher = NO_PUBLISHER;
  if (config.eventBusName) {
    publisher = new EventBridgePublisher(
      new EventBridgeClient({ region: config.region }),
      config.eventBusName,
      logger,
    );
  } else if (webhooks) {
    publisher = new LocalWebhookPublisher(
      {
        store: webhooks,
        fetch: (input, init) => fetch(input, init),
        clock,
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        urlPolicy: webhookUrlPolicy,
      },
      logger,
    );
  }
  campaigns.onStatusChange = (record, from) => publisher.publish([statusChangedEvent(record, from, clock())]);
  campaigns.logger = logger;
  // Unsubscribe links need a secret and a public address. A deployment that configures either gets them
  // on every email (and fails loudly if the other is missing); a bare configuration (unit tests) sends none.
  const unsubscribeConfigured = Boolean(
    config.publicBaseUrl ||
      config.unsubscribeSecret ||
      config.unsubscribeSecretArn ||
      config.unsubscribeSecretParameter,
  );
  const sender: SenderDeps = {
    emails,
    // The secret may need a network read (Secrets Manager); recipientExtras is synchronous, so it is
    // loaded with the template, which every batch awaits before its first send.
    loadTemplate: async (id, version) => {
      if (unsubscribeConfigured) await unsubscribeLinks.ready();
      return templates.get(id, version);
    },
    loadPartials: (template, pins) => templates.partials(template, { selfId: template.id, pins }),
    ...(unsubscribeConfigured
      ? { recipientExtras: (campaignId: string, key: string) => unsubscribeLinks.extras(campaignId, key) }
      : {}),
    ledger,
    suppression,
    addProgress: (id, counts) => campaigns.addProgress(id, counts),
    maxInFlight: config.maxInFlight,
    sharedRate: config.sharedRate,
    logger,
    templateCache: new CompiledTemplateCache(),
    learntRates: new LearntRates(),
    latencyFloor: new LatencyFloor(),
    // The gate reads the campaign every half second of every batch: only the attributes it needs (the
    // consistent GetItem CampaignStore.gateView makes), through the chosen transport.
    campaignGate: (id, run) =>
      campaignGate(
        {
          find: async (campaignId: string) =>
            (await documents.get(gateViewInput(config.tables.campaigns, campaignId))) as
              | CampaignGateView
              | undefined,
        },
        id,
        run,
      ),
    stopCampaign: async (id, reason) => {
      await campaigns.transition(id, 'failed', { statusReason: reason, finishedAt: clock().toISOString() }, [
        'pending',
        'scheduled',
        'sending',
      ]);
    },
  };
  return {
    config,
    clients,
    clock,
    logger,
    logKey,
    templates,
    campaigns,
    jobs: new JobStore(clients.ddb, config.tables.campaigns, clock),
    analytics,
    ledger,
    suppression,
    emails,
    workflow,
    sender,
    unsubscribeLinks,
    engagement,
    documents,
    webhooks,
    publisher,
    webhookUrlPolicy,
  };
}

/**
 * What the campaign service and the run operations take, the same on AWS (a Step Functions
 * orchestrator) and locally (the local engine): only the orchestrator and how long a cancel waits differ.
 */
export function campaignServiceDeps(
  deps: AppDeps,
  orchestrator: Orchestrator,
  options: { settleMs?: number } = {},
): CampaignServiceDeps {
  return {
    s3: deps.clients.s3,
    bucket: deps.config.bucket,
    campaigns: deps.campaigns,
    templates: deps.templates,
    orchestrator,
    clock: deps.clock,
    // A campaign that names no rate goes at the configured default, capped by the SES quota (none when
    // there is no SES to ask: tests and benchmarks with a replaced sender).
    defaultRate: defaultRateWithin(deps.config.defaultRate, deps.workflow.sendQuota),
    ledger: deps.ledger,
    ...(options.settleMs !== undefined ? { settleMs: options.settleMs } : {}),
    senderIdentities: deps.config.senderIdentities,
    // Fakes of AppDeps in tests may carry no logger.
    ...(deps.logger ? { logger: deps.logger } : {}),
  };
}

/** What SES events are recorded with: the deployed events function and the local injection route. */
export function sesEventDeps(deps: AppDeps, emitMetrics?: (line: string) => void): SesEventDeps {
  return {
    campaigns: deps.campaigns,
    analytics: deps.analytics,
    suppression: deps.suppression,
    clock: deps.clock,
    ...(deps.logger ? { logger: deps.logger } : {}),
    ...(emitMetrics ? { emitMetrics } : {}),
    // Fakes of AppDeps in tests may carry no publisher.
    ...(deps.publisher ? { publish: (events: WebhookEvent[]) => deps.publisher.publish(events) } : {}),
  };
}
