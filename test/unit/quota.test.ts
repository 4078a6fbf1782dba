import { describe, expect, it } from 'vitest';
import { fitToQuota } from '../../core/campaigns/quota.ts';
import { QuotaExceededError } from '../../core/errors.ts';

const quota = { max24HourSend: 50_000, maxSendRate: 14, sentLast24Hours: 10_000 };

describe('fitToQuota', () => {
  it('keeps the asked rate when it is within the account maximum and the campaign fits', () => {
    expect(fitToQuota(1000, 10, quota, false)).toEqual({ rate: 10, estimatedSeconds: 100 });
  });

  it('lowers a rate above the SES maximum send rate to it, and says so', () => {
    expect(fitToQuota(1400, 100, quota, false)).toEqual({
      rate: 14,
      estimatedSeconds: 100,
      note: 'lowered from 100/s to the SES maximum send rate of 14/s',
    });
  });

  it('refuses a campaign larger than what remains of the 24-hour quota, saying how to fix it', () => {
    const error = (() => {
      try {
        fitToQuota(40_001, 14, quota, false);
      } catch (e) {
        return e as QuotaExceededError;
      }
    })();
    expect(error).toBeInstanceOf(QuotaExceededError);
    expect(error?.message).toBe(
      'This campaign has 40001 emails to send but only 40000 remain of the SES 24-hour quota (50000 per 24 hours, ' +
        '10000 already sent). Ask AWS for a higher quota, send a smaller list, or set "spread": true to send it at ' +
        "the quota's daily pace (about 19.2 h).",
    );
    expect(error?.details).toMatchObject({ toSend: 40_001, remaining: 40_000 });
  });

  it('spreads an oversized campaign at the daily pace when asked', () => {
    const decision = fitToQuota(100_000, 14, quota, true);
    expect(decision.rate).toBeCloseTo(50_000 / 86_400, 10);
    expect(decision.estimatedSeconds).toBeCloseTo(172_800, 3);
    expect(decision.note).toMatch(/^spread to 0\.579\/s so it stays within 50000 emails per 24 hours$/);
  });

  it('refuses to spread over a quota too small to pace (the SES sandbox: 200 a day)', () => {
    expect(() =>
      fitToQuota(500, 1, { max24HourSend: 200, maxSendRate: 1, sentLast24Hours: 0 }, true),
    ).toThrow(
      /that quota is too small to spread over: at its pace of one email every 432 s the send would take 60\.0 h/,
    );
  });

  it('applies nothing when the quota is unknown', () => {
    expect(fitToQuota(10, 5, undefined, false)).toEqual({ rate: 5, estimatedSeconds: 2 });
  });
});
