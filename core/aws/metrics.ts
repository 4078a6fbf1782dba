/**
 * CloudWatch metrics as Embedded Metric Format log lines, built by Powertools Metrics: a JSON line on
 * stdout of a Lambda becomes metrics without any API call or extra permission. Namespace "Sixback";
 * every metric carries the dimension Service=sixback (what the alarms in infra/constructs/monitoring.ts
 * use). Only the two rates are also published per CampaignId: each dimension value is a billed custom
 * metric, so per-campaign counts stay in the campaign record (the line carries CampaignId as a property).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export const METRIC_NAMESPACE = 'Sixback';
export const METRIC_SERVICE = 'sixback';

/** Count metrics, one per event type, named as in CloudWatch. */
export const EVENT_METRIC_NAMES = {
  send: 'EmailSent',
  delivery: 'EmailDelivered',
  bounce: 'EmailBouncedPermanent',
  transientBounce: 'EmailBouncedTransient',
  complaint: 'EmailComplaint',
  reject: 'EmailRejected',
  deliveryDelay: 'EmailDeliveryDelayed',
  open: 'EmailOpened',
  click: 'EmailClicked',
  renderingFailure: 'EmailRenderingFailed',
  unsubscribe: 'EmailUnsubscribed',
} as const;

/** Per-campaign rates in percent; alarm when ComplaintRate > 0.1 or BounceRate > 5. */
export const RATE_METRICS = {
  complaintRate: 'CampaignComplaintRate',
  bounceRate: 'CampaignBounceRate',
} as const;
/** 1 each time a campaign crosses a threshold (alarm on Sum >= 1). */
export const ALARM_METRIC = 'CampaignAlarmRaised';

export interface MetricValue {
  name: string;
  value: number;
  unit: 'Count' | 'Percent';
}

/** Where EMF lines go: stdout on Lambda; the local stack and the tests pass their own. */
export type MetricsSink = (line: string) => void;

/**
 * Lambda's sink: stdout itself, as Powertools' own `publishStoredMetrics` writes, rather than the
 * runtime's console.log, which prefixes each line with a timestamp and request id (and wraps it whole
 * in JSON when the function's log format is JSON). A function with metrics turned off gets none
 * (`lambdaMetricsSink`).
 */
export const stdoutMetricsSink: MetricsSink = (line) => {
  process.stdout.write(`${line}\n`);
};

/**
 * Whether metrics are turned off here, as Powertools decides it (by Powertools itself, reading the
 * environment now): POWERTOOLS_METRICS_DISABLED when it is set (true/1/yes/on or false/0/no/off), else
 * POWERTOOLS_DEV. sixback serialises its EMF lines itself (`emfLine`), which Powertools does not stop,
 * so the switch is honoured here.
 */
export function metricsDisabled(): boolean {
  return new EnvironmentMetrics({ namespace: METRIC_NAMESPACE, logger: console }).disabledHere;
}

/** Powertools' decision, which it keeps to itself (`isDisabled` is protected). */
class EnvironmentMetrics extends Metrics {
  get disabledHere(): boolean {
    return this.isDisabled();
  }
}

/** The sink a function uses, decided once when it starts as Powertools decides: stdout, or none at all. */
export function lambdaMetricsSink(): MetricsSink | undefined {
  return metricsDisabled() ? undefined : stdoutMetricsSink;
}

// One instance, used synchronously from the first metric added to the clearing after serialising, so
// concurrent batches in one process (the local stack) never see each other's metrics.
// Its warnings (a metric CloudWatch would refuse, a timestamp out of range) go to the console's stderr
// side, never into the stdout the EMF lines are read from.
const metrics = new Metrics({ namespace: METRIC_NAMESPACE, logger: console });
// Powertools adds a lowercase `service` default dimension; the alarms match on exactly {Service}, and a
// metric with one more dimension is another metric, so the defaults are replaced.
metrics.clearDefaultDimensions();
metrics.setDefaultDimensions({ Service: METRIC_SERVICE });

/**
 * One EMF line. With a campaign id and `perCampaign`, the metrics are published twice over: under
 * {Service} (what the alarms read) and under {Service, CampaignId}; otherwise under {Service} alone.
 */
export function emfLine(
  values: MetricValue[],
  dimensions: { campaignId?: string | undefined; perCampaign?: boolean },
  now: Date,
  properties: Record<string, string> = {},
): string {
  try {
    metrics.setTimestamp(now);
    if (dimensions.campaignId && dimensions.perCampaign) {
      // An empty set is the default dimensions alone: {Service}.
      metrics.addDimensions({});
      metrics.addDimensions({ CampaignId: dimensions.campaignId });
    } else if (dimensions.campaignId) {
      metrics.addMetadata('CampaignId', dimensions.campaignId);
    }
    for (const [key, value] of Object.entries(properties)) metrics.addMetadata(key, value);
    for (const m of values) metrics.addMetric(m.name, MetricUnit[m.unit], m.value);
    return JSON.stringify(metrics.serializeMetrics());
  } finally {
    metrics.clearMetrics();
    metrics.clearDimensions();
    metrics.clearMetadata();
  }
}
