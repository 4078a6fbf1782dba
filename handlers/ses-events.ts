/**
 * SES sending events, routed by an EventBridge rule on the configuration set's events (source aws.ses)
 * into an SQS queue the function reads in batches (on AWS), or handed over one at a time (the local
 * injector): applies each to its recipient's outcome once (redeliveries change nothing), counts what is
 * new on the campaign, suppresses hard bounces and complaints, raises
 * deliverability alarms, and logs EMF metric lines (namespace Sixback) for CloudWatch alarms.
 */
import { type AppDeps, sesEventDeps } from '../core/app.ts';
import { recordSesEvent, recordSesEvents } from '../core/compliance/events.ts';
import { ValidationError } from '../core/errors.ts';
import { runtimeDeps, type TaskHandler } from './runtime.ts';

/** An SQS event: each record's body is one EventBridge event. */
function sqsBodies(event: unknown): unknown[] | undefined {
  const records = (event as { Records?: { eventSource?: string; body?: string }[] } | null)?.Records;
  if (!Array.isArray(records) || records.some((r) => r?.eventSource !== 'aws:sqs')) return undefined;
  return records.map((record) => {
    try {
      return JSON.parse(record.body ?? '');
    } catch {
      return record.body;
    }
  });
}

/** `emitMetrics` is stdout on Lambda (CloudWatch EMF); the local stack passes its own. */
export const createHandler =
  (deps: AppDeps, emitMetrics: (line: string) => void = (line) => console.log(line)): TaskHandler =>
  async (event) => {
    const bodies = sqsBodies(event);
    if (bodies) {
      // One batch from the queue. Unparseable messages are logged and dropped (they never will parse);
      // anything else (DynamoDB down) throws, and the whole batch comes back after the visibility timeout.
      const result = await recordSesEvents(bodies, sesEventDeps(deps, emitMetrics));
      for (const ignored of result.ignored)
        console.error(JSON.stringify({ ignored: 'not an SES event', problem: ignored.problem }));
      return {
        recorded: result.recorded,
        ignored: result.ignored.length,
        counted: result.counted,
        suppressed: result.suppressed,
        alarms: result.raised.map((b) => b.metric),
      };
    }
    let result: Awaited<ReturnType<typeof recordSesEvent>>;
    try {
      result = await recordSesEvent(event, sesEventDeps(deps, emitMetrics));
    } catch (error) {
      // A message that is not an SES event will never parse: retrying it (Lambda's async retries) is
      // pointless, so it is logged and dropped. Anything else (DynamoDB down) throws and is retried.
      if (error instanceof ValidationError) {
        console.error(JSON.stringify({ ignored: 'not an SES event', problem: error.message }));
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

export const handler: TaskHandler = (event) => createHandler(runtimeDeps())(event);
