/**
 * The embedded local stack: local S3, DynamoDB and SES started in-process, the tables and bucket created,
 * and the local engine running the campaign ASL with the real handlers. Any of the three services can be
 * real AWS instead (`aws: { ses: true }` sends a real campaign through real SES without deploying).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type AppDeps, campaignServiceDeps, createAppDeps } from '../core/app.ts';
import { localLogKey, localUnsubscribeSecret } from '../core/aws/secret.ts';
import type { CampaignServiceDeps } from '../core/campaigns/deps.ts';
import { restartInterruptedCampaigns } from '../core/campaigns/runs.ts';
import type { CampaignRecord } from '../core/campaigns/store.ts';
import { DEFAULT_MAX_IN_FLIGHT, parseConfig, type SixbackConfig } from '../core/config.ts';
import type { Logger } from '../core/logging.ts';
import type { EmailSender } from '../core/sending/email-sender.ts';
import { trackingVariants } from '../core/sending/tracking.ts';
import { TASK_FUNCTIONS } from '../handlers/index.ts';
import { sweepUnsubscribeOutbox } from '../handlers/jobs.ts';
import { createHandler as createSesEventsHandler } from '../handlers/ses-events.ts';
import { LocalEngine } from './engine.ts';
import type { LocalLimits } from './limits.ts';
import { SenderPool } from './sender-pool.ts';
import {
  createBucket,
  createTables,
  dataPaths,
  type RunningService,
  startDynamo,
  startS3,
  startSes,
} from './services.ts';
import type { SesEventBridgeEvent } from './ses/events.ts';
import { eventTypesFor, type LocalSes } from './ses/server.ts';

export interface LocalStackOptions {
  /** Where state persists between runs. Ignored with `ephemeral`. */
  dataDir?: string;
  /** Keep everything in a temporary folder removed on stop (the demo and the tests). */
  ephemeral?: boolean;
  ports?: { s3?: number; dynamodb?: number; ses?: number };
  /** Use real AWS for these services instead of starting local ones (standard credential chain). */
  aws?: { s3?: boolean; dynamodb?: boolean; ses?: boolean };
  region?: string;
  bucket?: string;
  /** Emails per second for campaigns that name no rate. */
  defaultRate?: number;
  /** Replaces the SES client, e.g. with a fault-injecting stand-in. */
  emails?: EmailSender;
  sesEndpoint?: string;
  /**
   * SES configuration set campaign email names (events publishing); with the local SES, default
   * `sixback-local`, and its tracking variants exist too (core/sending/tracking.ts).
   */
  configurationSet?: string;
  /** How the local SES batches its events to the SES events handler (default 100 per batch, 100 ms). */
  sesEvents?: { batchSize?: number; windowMs?: number; retryMs?: number; maxReceives?: number };
  /** How old an SES events count group must be before a redelivery takes it over (core/config.ts). */
  countInFlightMs?: number;
  /** Sees each batch of local SES events just before the SES events handler gets it (tests). */
  sesEventsTap?: (events: SesEventBridgeEvent[]) => void;
  waitTimeOverrides?: Record<string, number>;
  /**
   * The time the PickWinner step reads (tests move it forward to reach an A/B test's decision time);
   * everything else keeps the real clock, as the engine's own timestamps do.
   */
  abTestClock?: () => Date;
  /**
   * The time every core step reads (tests move it forward to stand for time that passed while the engine
   * was down); the engine's own Wait states keep the real clock (see waitTimeOverrides).
   */
  clock?: () => Date;
  retryIntervalOverrides?: Record<string, number | number[]>;
  maxInFlight?: number;
  /** Whether the Map children share the campaign's rate (default true; the benchmark's "before" is false). */
  sharedRate?: boolean;
  /** What the local SES answers to GetAccount (default 1,000,000 per 24 hours, 500/s). */
  sesQuota?: { max24HourSend: number; maxSendRate: number };
  /**
   * Start a new run of every campaign that was pending, scheduled or sending when the stack last stopped
   * (or was killed). Default: on for a persistent data folder, off for an ephemeral one.
   */
  pickup?: boolean;
  /** Base of unsubscribe links: the local API server's URL (default http://localhost:8787). */
  publicBaseUrl?: string;
  /** Allowed From addresses or domains; empty (the default) allows any locally. */
  senderIdentities?: string[];
  /** How SendEmail reaches SES: 'sdk' (default) or 'fast' (core/aws/fast/ses-transport.ts). */
  sesTransport?: 'sdk' | 'fast';
  /** How the sender's tables reach DynamoDB (core/aws/documents.ts): 'sdk' (default) or 'fast' (core/aws/fast/dynamo-rpc.ts). */
  dynamoTransport?: 'sdk' | 'fast';
  /** Run SendBatch in this many worker threads (local/sender-pool.ts); default 0, in this thread. */
  senderWorkers?: number;
  /**
   * A DynamoDB front to start in front of the local DynamoDB, given its URL (the benchmarks' in-memory
   * ledger, bench/fast-ledger.ts); every DynamoDB call then goes to the front. Ephemeral stacks only, as a
   * front need not persist. Default none.
   */
  dynamoFront?: (upstream: string) => Promise<RunningService>;
  /**
   * AWS's limits as the local engine enforces them (local/limits.ts); tests set smaller ones. The sender
   * plans its deadlines from the same EXPRESS child lifetime.
   */
  limits?: Partial<LocalLimits>;
  /** Another ASL file than statemachines/campaign.asl.json (tests of the engine's limits). */
  aslPath?: string;
  /**
   * Operational logs (core/logging.ts): one line of text each, on stderr. The level defaults to
   * SIXBACK_LOG_LEVEL, else WARN (the tests set SILENT); addresses are hashed unless told otherwise.
   */
  logLevel?: SixbackConfig['logLevel'];
  logFormat?: SixbackConfig['logFormat'];
  logRecipients?: SixbackConfig['logRecipients'];
  /** Where finished log lines go instead of stderr (tests read them). */
  logSink?: (line: string, level: string) => void;
  /**
   * The unsubscribe outbox sweep, as the deployed schedule runs it (handlers/jobs.ts): every minute, for
   * unsubscribes a minute old. Tests shorten both; `everyMs: 0` turns it off.
   */
  unsubscribeSweep?: { everyMs?: number; olderThanMs?: number };
}

export interface LocalStack {
  config: SixbackConfig;
  deps: AppDeps;
  engine: LocalEngine;
  campaignDeps: CampaignServiceDeps;
  urls: { s3?: string; dynamodb?: string; ses?: string; inbox?: string };
  dataDir: string;
  /** Campaigns the restart pickup started a new run for. */
  restarted: CampaignRecord[];
  /** The local SES (its mailbox and its event queue), unless SES is real or replaced. */
  ses?: LocalSes;
  /** The SendBatch worker threads, when `senderWorkers` asked for them. */
  senderPool?: SenderPool;
  /**
   * Points unsubscribe links at this base from now on (in this thread and every sender worker): the API
   * server's real address, known only once it listens (`--port 0`).
   */
  setPublicBaseUrl(url: string): Promise<void>;
  stop(): Promise<void>;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** The same variables a deployed function reads (core/config.ts configFromEnv), for `sixback dev` and the demo. */
function logLevelFromEnv(): SixbackConfig['logLevel'] {
  const value = process.env.SIXBACK_LOG_LEVEL?.trim().toUpperCase();
  return value ? (value as SixbackConfig['logLevel']) : undefined;
}

function logRecipientsFromEnv(): SixbackConfig['logRecipients'] | undefined {
  const value = process.env.SIXBACK_LOG_RECIPIENTS?.trim();
  return value ? (value as SixbackConfig['logRecipients']) : undefined;
}
export const LOCAL_PUBLIC_BASE_URL = 'http://localhost:8787';
export const LOCAL_CONFIGURATION_SET = 'sixback-local';

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const dataDir =
    options.ephemeral || !options.dataDir ? mkdtempSync(join(tmpdir(), 'sixback-')) : options.dataDir;
  const paths = dataPaths(dataDir);
  const services: RunningService[] = [];
  const started = async <S extends RunningService>(service: Promise<S>): Promise<S> => {
    const s = await service;
    services.push(s);
    return s;
  };
  try {
    const s3 = options.aws?.s3 ? undefined : await started(startS3(paths.s3, options.ports?.s3));
    // In-memory DynamoDB when ephemeral: faster, and nothing to clean up.
    const dynamo = options.aws?.dynamodb
      ? undefined
      : await started(startDynamo(options.ephemeral ? undefined : paths.dynamodb, options.ports?.dynamodb));
    // The local SES publishes the events of its configuration sets into the SES events handler once the
    // app's dependencies exist (below); until then a batch fails and is offered again, as SQS would.
    let deliverEvents: ((events: SesEventBridgeEvent[]) => Promise<SesEventBridgeEvent[]>) | undefined;
    // The app's logger, once it exists (below): what the local SES's event queue reports to.
    let logger: Logger | undefined;
    const localSes = !(options.aws?.ses || options.sesEndpoint || options.emails);
    const configurationSet = options.configurationSet ?? (localSes ? LOCAL_CONFIGURATION_SET : undefined);
    const ses = localSes
      ? await started(
          startSes({
            directory: paths.ses,
            region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
            ...(options.ports?.ses !== undefined ? { port: options.ports.ses } : {}),
            ...(options.sesQuota ? { quota: options.sesQuota } : {}),
            // The same four sets the CDK stack creates, with the same event types.
            configurationSets: trackingVariants(configurationSet as string).map(({ name, tracking }) => ({
              name,
              eventTypes: eventTypesFor(tracking),
            })),
            onEvents: (events) =>
              deliverEvents ? deliverEvents(events) : Promise.reject(new Error('the stack is starting')),
            events: {
              ...options.sesEvents,
              // SQS's dead-letter queue, locally: the batch is gone, and the log says so.
              onDropped: (events, error) =>
                logger?.error('local SES: events dropped after every retry', { events, error }),
            },
          }),
        )
      : undefined;
    let ledgerFront: RunningService | undefined;
    if (options.dynamoFront) {
      if (!dynamo || !options.ephemeral)
        throw new Error('A DynamoDB front may not persist: use it only with an ephemeral local DynamoDB');
      ledgerFront = await started(options.dynamoFront(dynamo.url));
    }
    const config = parseConfig({
      region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
      endpoints: {
        s3: s3?.url,
        dynamodb: ledgerFront?.url ?? dynamo?.url,
        ses: options.sesEndpoint ?? ses?.url,
      },
      // For the local services only (any key works; s3rver insists on this one). A service left on real
      // AWS has no endpoint override, and createClients gives it the standard credential chain instead.
      credentials: LOCAL_CREDENTIALS,
      bucket: options.bucket ?? 'sixback-local',
      tables: {
        templates: 'sixback-templates',
        campaigns: 'sixback-campaigns',
        ledger: 'sixback-ledger',
        suppression: 'sixback-suppression',
        analytics: 'sixback-analytics',
        webhooks: 'sixback-webhooks',
      },
      // Local receivers listen on 127.0.0.1; on AWS private targets are refused (core/webhooks/url-policy.ts).
      webhookAllowPrivate: true,
      defaultRate: options.defaultRate ?? 100,
      ...(configurationSet ? { configurationSet } : {}),
      trackingConfigurationSets: localSes,
      maxInFlight: options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
      // The local queue offers a batch again only once the handler answered (local/ses/events.ts), 200 ms
      // and more later: a count group older than 2 s has no writer left.
      countInFlightMs: options.countInFlightMs ?? 2_000,
      ...(options.sharedRate !== undefined ? { sharedRate: options.sharedRate } : {}),
      publicBaseUrl: options.publicBaseUrl ?? LOCAL_PUBLIC_BASE_URL,
      senderIdentities: options.senderIdentities ?? [],
      // Kept in the data folder so unsubscribe links in mail sent earlier stay valid across restarts.
      unsubscribeSecret: localUnsubscribeSecret(dataDir),
      ...(options.sesTransport ? { sesTransport: options.sesTransport } : {}),
      ...(options.dynamoTransport ? { dynamoTransport: options.dynamoTransport } : {}),
      ...(options.limits?.expressExecutionMs ? { childExecutionMs: options.limits.expressExecutionMs } : {}),
      logLevel: options.logLevel ?? logLevelFromEnv() ?? 'WARN',
      logFormat: options.logFormat ?? 'text',
      logRecipients: options.logRecipients ?? logRecipientsFromEnv(),
      // Kept in the data folder too: a recipient's pseudonym in the logs is the same across restarts.
      logKey: localLogKey(dataDir),
    });
    const deps = createAppDeps(config, {
      ...(options.emails ? { emails: options.emails } : {}),
      ...(options.logSink ? { logSink: options.logSink } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    });
    logger = deps.logger;
    if (s3) await createBucket(deps.clients.s3, config.bucket);
    if (dynamo) {
      const raw = new DynamoDBClient({
        region: config.region,
        endpoint: dynamo.url,
        credentials: LOCAL_CREDENTIALS,
      });
      await createTables(raw, config.tables);
      raw.destroy();
    }
    if (ses) {
      // As on AWS: EventBridge -> SQS -> the SES events function, one SQS batch per call.
      const handleEvents = createSesEventsHandler(deps, () => undefined);
      deliverEvents = async (events) => {
        options.sesEventsTap?.(events);
        const out = (await handleEvents({
          Records: events.map((event) => ({
            eventSource: 'aws:sqs',
            messageId: event.id,
            body: JSON.stringify(event),
          })),
        })) as { batchItemFailures?: { itemIdentifier: string }[] };
        // The partial batch response: the failed messages, and only they, are delivered again.
        const failed = new Set(out.batchItemFailures?.map((f) => f.itemIdentifier));
        return events.filter((event) => failed.has(event.id));
      };
    }
    const handlers = Object.fromEntries(
      Object.entries(TASK_FUNCTIONS).map(([name, fn]) => [name, fn.create(deps)]),
    );
    if (options.abTestClock) {
      handlers.PickWinnerFunctionArn = TASK_FUNCTIONS.PickWinnerFunctionArn.create({
        ...deps,
        workflow: { ...deps.workflow, clock: options.abTestClock },
      });
    }
    const senderPool = options.senderWorkers
      ? new SenderPool({ config, workers: options.senderWorkers, transport: config.sesTransport })
      : undefined;
    if (senderPool) handlers.SendBatchFunctionArn = senderPool.sendBatch;
    const engine = new LocalEngine({
      handlers,
      s3: deps.clients.s3,
      ...(options.waitTimeOverrides ? { waitTimeOverrides: options.waitTimeOverrides } : {}),
      ...(options.retryIntervalOverrides ? { retryIntervalOverrides: options.retryIntervalOverrides } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      ...(options.aslPath ? { aslPath: options.aslPath } : {}),
      logger: deps.logger,
    });
    // With a replaced sender and no SES endpoint there is no SES to ask for a quota (tests, benchmarks).
    if (options.emails && !config.endpoints.ses && !options.aws?.ses) delete deps.workflow.sendQuota;
    // The local engine's stop waits for running batches itself.
    const campaignDeps = campaignServiceDeps(deps, engine, { settleMs: 0 });
    const pickup = options.pickup ?? (!options.ephemeral && options.dataDir !== undefined);
    const restarted = pickup ? await restartInterruptedCampaigns(campaignDeps) : [];
    // The schedule rule's sweep, locally: unsubscribes whose publication failed are published without
    // waiting for another click. One run at a time; a stop waits for the one under way.
    const sweepEveryMs = options.unsubscribeSweep?.everyMs ?? 60_000;
    let sweeping: Promise<unknown> = Promise.resolve();
    const sweepTimer =
      sweepEveryMs > 0
        ? setInterval(() => {
            sweeping = sweeping
              .then(() =>
                sweepUnsubscribeOutbox(deps, { olderThanMs: options.unsubscribeSweep?.olderThanMs }),
              )
              .catch((error: unknown) => deps.logger.error('unsubscribe outbox sweep failed', { error }));
          }, sweepEveryMs)
        : undefined;
    sweepTimer?.unref();
    return {
      config,
      deps,
      engine,
      campaignDeps,
      restarted,
      urls: { s3: s3?.url, dynamodb: dynamo?.url, ses: ses?.url, inbox: ses ? `${ses.url}/` : undefined },
      dataDir,
      ...(senderPool ? { senderPool } : {}),
      ...(ses ? { ses: ses.ses } : {}),
      async setPublicBaseUrl(url: string) {
        // The unsubscribe links read the configuration object when each link is made.
        config.publicBaseUrl = url;
        await senderPool?.broadcast('publicBaseUrl', url);
      },
      async stop() {
        if (sweepTimer) clearInterval(sweepTimer);
        await sweeping;
        await engine.stopAll();
        await senderPool?.close();
        // The events of what was sent still reach the handler, while DynamoDB is up.
        await ses?.ses.events.idle();
        await (deps.emails as { close?: () => Promise<void> }).close?.();
        await deps.documents.close();
        for (const client of Object.values(deps.clients)) client.destroy();
        for (const service of services.reverse()) await service.close().catch(() => undefined);
        if (options.ephemeral || !options.dataDir) rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const service of services.reverse()) await service.close().catch(() => undefined);
    throw error;
  }
}
