/**
 * SES sending events, delivered by an EventBridge rule on the configuration set's events
 * (source aws.ses): counts them on their campaign, suppresses hard bounces and complaints, raises
 * deliverability alarms, and logs EMF metric lines (namespace Sixback) for CloudWatch alarms.
 */
import type { AppDeps } from '../core/app.ts';
import { recordSesEvent, type SesEventDeps } from '../core/compliance/events.ts';
import { runtimeDeps, type TaskHandler } from './runtime.ts';

export function sesEventDeps(deps: AppDeps, emitMetrics: (line: string) => void = console.log): SesEventDeps {
  return { campaigns: deps.campaigns, suppression: deps.suppression, clock: deps.clock, emitMetrics };
}

export const createHandler =
  (deps: AppDeps): TaskHandler =>
  async (event) => {
    const result = await recordSesEvent(event, sesEventDeps(deps));
    return {
      eventType: result.eventType,
      campaignId: result.campaignId ?? null,
      suppressed: result.suppressed,
      alarms: result.raised.map((b) => b.metric),
    };
  };

export const handler: TaskHandler = (event) => createHandler(runtimeDeps())(event);
