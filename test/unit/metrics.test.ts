/**
 * The EMF lines Powertools Metrics builds for sixback (core/aws/metrics.ts): the names, namespace and
 * dimensions the CloudWatch alarms match on, the clock's timestamp, and nothing carried over from one
 * line to the next.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AppDeps } from '../../core/app.ts';
import {
  ALARM_METRIC,
  EVENT_METRIC_NAMES,
  emfLine,
  lambdaMetricsSink,
  METRIC_NAMESPACE,
  metricsDisabled,
  RATE_METRICS,
  stdoutMetricsSink,
} from '../../core/aws/metrics.ts';
import { buildSesEvent } from '../../core/compliance/events.ts';
import { createHandler } from '../../handlers/ses-events.ts';

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

describe('POWERTOOLS_METRICS_DISABLED, as Powertools reads it', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  const cases: [string | undefined, string | undefined, boolean][] = [
    [undefined, undefined, false],
    ['true', undefined, true],
    ['1', undefined, true],
    ['false', undefined, false],
    ['0', undefined, false],
    // Unset, POWERTOOLS_DEV decides; set, POWERTOOLS_METRICS_DISABLED wins over it.
    [undefined, 'true', true],
    ['false', 'true', false],
    ['true', 'false', true],
  ];
  it.each(cases)(
    'POWERTOOLS_METRICS_DISABLED=%s POWERTOOLS_DEV=%s: disabled %s',
    (disabled, dev, expected) => {
      vi.stubEnv('POWERTOOLS_METRICS_DISABLED', disabled);
      vi.stubEnv('POWERTOOLS_DEV', dev);
      expect(metricsDisabled()).toBe(expected);
      expect(lambdaMetricsSink()).toBe(expected ? undefined : stdoutMetricsSink);
    },
  );

  /** The SES events function, built as Lambda builds it (no sink given), handling one delivery. */
  async function emfLinesOfOneDelivery(): Promise<string[]> {
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const deps = {
      clock: () => now,
      campaigns: {
        addEvents: async () => ({ id: 'c1', progress: { sent: 10 }, events: { delivery: 1 } }),
        patch: async () => undefined,
      },
      suppression: { add: async () => undefined },
    } as unknown as AppDeps;
    const handler = createHandler(deps);
    await handler(buildSesEvent({ type: 'delivery', email: 'ann@example.com', campaignId: 'c1' }, now));
    vi.mocked(process.stdout.write).mockRestore();
    return written.filter((line) => line.includes('"_aws"'));
  }

  it('the SES events function writes its EMF lines to stdout unless metrics are disabled', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', undefined);
    vi.stubEnv('POWERTOOLS_DEV', undefined);
    const lines = await emfLinesOfOneDelivery();
    expect(lines.join('')).toContain('EmailDelivered');
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');
    expect(await emfLinesOfOneDelivery()).toEqual([]);
  });
});
