/**
 * A campaign that names no rate: one rule (core/campaigns/quota.ts defaultCampaignRate) for the API on
 * AWS and the local stack: the configured default, capped by SES's MaxSendRate, never the MaxSendRate
 * itself (that would take the account's whole rate).
 */
import { describe, expect, it } from 'vitest';
import type { AppDeps } from '../../core/app.ts';
import { defaultCampaignRate, defaultRateWithin, type SendQuota } from '../../core/campaigns/quota.ts';
import { awsCampaignServiceDeps as campaignServiceDeps } from '../../handlers/api.ts';
import { seeded } from '../support/seeded.ts';

const quotaAt = (maxSendRate: number): SendQuota => ({
  max24HourSend: 1_000_000,
  maxSendRate,
  sentLast24Hours: 0,
});

describe('defaultCampaignRate', () => {
  it('is the configured rate when the quota allows it, the quota when it does not, for any pair', () => {
    const random = seeded(14);
    for (let i = 0; i < 2000; i++) {
      const configured = 1 + random.int(5000) + random.pick([0, 0.5]);
      const maxSendRate = 1 + random.int(5000);
      const rate = defaultCampaignRate(configured, quotaAt(maxSendRate));
      expect(rate, `${configured} within ${maxSendRate}`).toBeLessThanOrEqual(maxSendRate);
      expect(rate).toBeLessThanOrEqual(configured);
      // At most both, and one of them: the smaller.
      expect([configured, maxSendRate]).toContain(rate);
    }
  });

  it('is the configured rate when SES could not be asked', () => {
    expect(defaultCampaignRate(14, undefined)).toBe(14);
    expect(defaultCampaignRate(250, undefined)).toBe(250);
  });

  it('asks for the quota each time, so a raised SES limit counts without a redeploy', async () => {
    let maxSendRate = 1;
    const rate = defaultRateWithin(14, async () => quotaAt(maxSendRate));
    expect(await rate()).toBe(1);
    maxSendRate = 200;
    expect(await rate()).toBe(14);
  });
});

describe('the API Lambda', () => {
  const deps = (defaultRate: number, maxSendRate: number | undefined) =>
    ({
      config: {
        defaultRate,
        stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:sixback-campaign',
        region: 'eu-west-1',
        bucket: 'bucket',
        senderIdentities: [],
      },
      clients: { s3: {}, sfn: {} },
      workflow: {
        sendQuota: async () => (maxSendRate === undefined ? undefined : quotaAt(maxSendRate)),
      },
    }) as unknown as AppDeps;

  it("gives a campaign without a rate the configured default, not the account's whole MaxSendRate", async () => {
    expect(await campaignServiceDeps(deps(14, 1000)).defaultRate()).toBe(14);
  });

  it('caps the default by the quota (the sandbox allows 1 a second)', async () => {
    expect(await campaignServiceDeps(deps(14, 1)).defaultRate()).toBe(1);
    expect(await campaignServiceDeps(deps(14, undefined)).defaultRate()).toBe(14);
  });
});
