/**
 * SES sending events, delivered by an EventBridge rule on the configuration set's events
 * (source aws.ses): counts them on their campaign, suppresses hard bounces and complaints, raises
 * deliverability alarms, and logs EMF metric lines (namespace Sixback) for CloudWatch alarms.
 */
import type { AppDeps } from '../core/app.ts';
import { recordSesEvent, type SesEventDeps } from '../core/compliance/events.ts';
import { ValidationError } from '../core/errors.ts';
import { runtimeDeps, type TaskHandler } from './runtime.ts';

export function sesEventDeps(deps: AppDeps, emitMetrics: (line: string) => void = console.log): SesEventDeps {
  return { campaigns: deps.campaigns, suppression: deps.suppression, clock: deps.clock, emitMetrics };
}

export const createHandler =
  (deps: AppDeps): TaskHandler =>
  async (event) => {
    let result: Awaited<ReturnType<typeof recordSesEvent>>;
    try {
      result = await recordSesEvent(event, sesEventDeps(deps));
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
