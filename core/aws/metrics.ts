/**
 * CloudWatch metrics as Embedded Metric Format log lines: a JSON line on stdout of a Lambda becomes
 * metrics without any API call or extra permission. Namespace "Sixback"; every metric carries the
 * dimension Service=sixback (what alarms use). Only the two rates are also published per CampaignId:
 * each dimension value is a billed custom metric, so per-campaign counts stay in the campaign record.
 */

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

export function emfLine(
  metrics: MetricValue[],
  dimensions: { campaignId?: string | undefined; perCampaign?: boolean },
  now: Date,
  properties: Record<string, unknown> = {},
): string {
  const dimensionSets =
    dimensions.campaignId && dimensions.perCampaign
      ? [['Service'], ['Service', 'CampaignId']]
      : [['Service']];
  return JSON.stringify({
    _aws: {
      Timestamp: now.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: METRIC_NAMESPACE,
          Dimensions: dimensionSets,
          Metrics: metrics.map((m) => ({ Name: m.name, Unit: m.unit })),
        },
      ],
    },
    Service: METRIC_SERVICE,
    ...(dimensions.campaignId ? { CampaignId: dimensions.campaignId } : {}),
    ...Object.fromEntries(metrics.map((m) => [m.name, m.value])),
    ...properties,
  });
}
