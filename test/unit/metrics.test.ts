/**
 * The EMF lines Powertools Metrics builds for sixback (core/aws/metrics.ts): the names, namespace and
 * dimensions the CloudWatch alarms match on, the clock's timestamp, and nothing carried over from one
 * line to the next.
 */
import { describe, expect, it } from 'vitest';
import {
  ALARM_METRIC,
  EVENT_METRIC_NAMES,
  emfLine,
  METRIC_NAMESPACE,
  RATE_METRICS,
} from '../../core/aws/metrics.ts';

interface Emf {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

const now = new Date();

describe('EMF lines', () => {
  it('publishes the rates under {Service} and {Service, CampaignId}', () => {
    const line = JSON.parse(
      emfLine(
        [
          { name: RATE_METRICS.complaintRate, value: 0.2, unit: 'Percent' },
          { name: RATE_METRICS.bounceRate, value: 1.5, unit: 'Percent' },
          { name: ALARM_METRIC, value: 1, unit: 'Count' },
        ],
        { campaignId: 'spring-sale', perCampaign: true },
        now,
        { alarms: 'complaintRate' },
      ),
    ) as Emf;
    expect(line._aws).toEqual({
      Timestamp: now.getTime(),
      CloudWatchMetrics: [
        {
          Namespace: 'Sixback',
          Dimensions: [['Service'], ['Service', 'CampaignId']],
          Metrics: [
            { Name: 'CampaignComplaintRate', Unit: 'Percent' },
            { Name: 'CampaignBounceRate', Unit: 'Percent' },
            { Name: 'CampaignAlarmRaised', Unit: 'Count' },
          ],
        },
      ],
    });
    expect(line).toMatchObject({
      Service: 'sixback',
      CampaignId: 'spring-sale',
      CampaignComplaintRate: 0.2,
      CampaignBounceRate: 1.5,
      CampaignAlarmRaised: 1,
      alarms: 'complaintRate',
    });
    // Powertools' own lowercase `service` dimension would make these other metrics than the alarms'.
    expect(line).not.toHaveProperty('service');
  });

  it('publishes counts under {Service} alone, the campaign as a property, and keeps nothing for the next line', () => {
    const counted = JSON.parse(
      emfLine([{ name: EVENT_METRIC_NAMES.delivery, value: 95, unit: 'Count' }], { campaignId: 'c1' }, now, {
        eventType: 'DELIVERY',
      }),
    ) as Emf;
    expect(counted._aws.CloudWatchMetrics[0]).toEqual({
      Namespace: METRIC_NAMESPACE,
      Dimensions: [['Service']],
      Metrics: [{ Name: 'EmailDelivered', Unit: 'Count' }],
    });
    expect(counted).toMatchObject({
      Service: 'sixback',
      CampaignId: 'c1',
      EmailDelivered: 95,
      eventType: 'DELIVERY',
    });

    const next = JSON.parse(
      emfLine([{ name: EVENT_METRIC_NAMES.open, value: 2, unit: 'Count' }], {}, now),
    ) as Emf;
    expect(next._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['Service']]);
    expect(next._aws.CloudWatchMetrics[0]?.Metrics).toEqual([{ Name: 'EmailOpened', Unit: 'Count' }]);
    expect(next).not.toHaveProperty('CampaignId');
    expect(next).not.toHaveProperty('EmailDelivered');
    expect(next).not.toHaveProperty('eventType');
  });
});
