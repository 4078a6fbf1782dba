/**
 * SES sending events, routed by an EventBridge rule on the configuration set's events (source aws.ses)
 * into an SQS queue the function reads in batches (on AWS), or handed over one at a time (the local
 * injector): applies each to its recipient's outcome once (redeliveries change nothing), counts what is
 * new on the campaign, suppresses hard bounces and complaints, raises deliverability alarms, and writes
 * EMF metric lines (namespace Sixback) for CloudWatch alarms.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { type AppDeps, sesEventDeps } from '../core/app.ts';
import { lambdaMetricsSink, type MetricsSink } from '../core/aws/metrics.ts';
import { recordSesEvent, recordSesEvents } from '../core/compliance/events.ts';
import { ValidationError } from '../core/errors.ts';
import { type Logger, SILENT_LOGGER } from '../core/logging.ts';
import { lambdaHandler, type TaskHandler } from './runtime.ts';

/** The fields of an SQS record read here (aws-lambda's types are not a dependency). */
type SQSRecord = {
  messageId: string;
  body: string;
  eventSource: 'aws:sqs';
};
type SQSEvent = { Records: SQSRecord[] };

function isSqsEvent(event: unknown): event is SQSEvent {
  const records = (event as { Records?: { eventSource?: string }[] } | null)?.Records;
  return Array.isArray(records) && records.every((r) => r?.eventSource === 'aws:sqs');
}

/** Each record's body is one EventBridge event; a body that is not JSON is passed on to be refused. */
function bodyOf(record: SQSRecord): unknown {
  try {
    return JSON.parse(record.body ?? '');
  } catch {
    return record.body;
  }
}

/**
 * One batch from the queue, answered as a partial batch response (the event source reports batch item
 * failures): a message that is not an SES event is logged and acknowledged, as it never will parse; a
 * message whose writes failed (DynamoDB throttled or down) is listed in `batchItemFailures`, and only it
 * comes back after the visibility timeout. The batch is recorded in one go first, so its counters are
 * still written once per campaign, and the failures are then mapped to their records. When every record
 * fails, Powertools throws (FullBatchFailureError) and the whole batch comes back.
 */
async function recordBatch(event: SQSEvent, deps: AppDeps, emitMetrics: MetricsSink | undefined) {
  const records = event.Records;
  const result = await recordSesEvents(records.map(bodyOf), sesEventDeps(deps, emitMetrics), {
    partial: true,
  });
  // The core logs each one with its index in the batch; the operator also needs the queue's message ids.
  if (result.ignored.length > 0)
    logOf(deps).warn('SES events: messages that are not SES events acknowledged', {
      messageIds: result.ignored.map((ignored) => records[ignored.index]?.messageId),
    });
  const failedBy = new Map<SQSRecord, unknown>();
  for (const { index, error } of result.failed) {
    const record = records[index] as SQSRecord;
    failedBy.set(record, error);
    logOf(deps).warn('SES event not recorded; it will be delivered again', {
      messageId: record.messageId,
      error,
    });
  }
  const { batchItemFailures } = await processPartialResponse(
    event,
    async (record: SQSRecord) => {
      if (failedBy.has(record)) throw failedBy.get(record);
    },
    new BatchProcessor(EventType.SQS),
  );
  return {
    batchItemFailures,
    // Lambda reads batchItemFailures alone; the rest says what the batch did, for the local stack and tests.
    recorded: result.recorded,
    ignored: result.ignored.length,
    counted: result.counted,
    suppressed: result.suppressed,
    alarms: result.raised.map((b) => b.metric),
  };
}

/** Tests may build the dependencies by hand, without a logger. */
const logOf = (deps: AppDeps): Logger => deps.logger ?? SILENT_LOGGER;

/**
 * `emitMetrics` is stdout on Lambda (CloudWatch EMF), or nothing with POWERTOOLS_METRICS_DISABLED (or
 * POWERTOOLS_DEV) set; the local stack passes its own.
 */
export const createHandler =
  (deps: AppDeps, emitMetrics: MetricsSink | undefined = lambdaMetricsSink()): TaskHandler =>
  async (event) => {
    if (isSqsEvent(event)) return recordBatch(event, deps, emitMetrics);
    let result: Awaited<ReturnType<typeof recordSesEvent>>;
    try {
      result = await recordSesEvent(event, sesEventDeps(deps, emitMetrics));
    } catch (error) {
      // A message that is not an SES event will never parse: retrying it (Lambda's async retries) is
      // pointless, so it is logged and dropped. Anything else (DynamoDB down) throws and is retried.
      if (error instanceof ValidationError) {
        logOf(deps).warn('SES events: not an SES event; dropped', { problem: error.message });
        return { ignored: error.message };
      }
      throw error;
    }
    return {
      eventType: result.eventType,
      campaignId: result.campaignId ?? null,
      suppressed: result.suppressed,
      alarms: result.raised.map((b) => b.metric),
    };
  };

export const handler = lambdaHandler('ses-events', (deps) => createHandler(deps));
