/**
 * sixback's own EventBridge bus (named after the stack: `sixback` by default). Every function puts the
 * events it produces on it, with source `sixback` and the event type as detail-type
 * (`campaign.status_changed`, `recipient.delivered`, ... see docs/webhooks.md), so users can wire their
 * own targets (SQS, Step Functions, another account's bus) without a public endpoint. One rule hands each
 * event to the webhooks function, which POSTs it to the configured subscribers.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { EVENT_SOURCE } from '../../core/webhooks/publish.ts';

export class EventBus extends Construct {
  readonly bus: events.EventBus;

  constructor(scope: Construct, id: string, props: { busName: string }) {
    super(scope, id);
    this.bus = new events.EventBus(this, 'Bus', {
      eventBusName: props.busName,
      description: 'sixback events: campaign status changes and recipient events (source "sixback")',
    });
  }

  /** Every sixback event to the webhooks function; EventBridge retries a failed invocation twice. */
  deliverTo(fn: lambda.IFunction): events.Rule {
    return new events.Rule(this, 'ToWebhooks', {
      eventBus: this.bus,
      description: 'sixback events to the webhooks function',
      eventPattern: { source: [EVENT_SOURCE] },
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });
  }
}
