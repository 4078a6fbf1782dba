/**
 * Exactly once under faults: 10,000 recipients sent through the SES stand-in while it throttles (its rate
 * limit is below the campaign's rate) and fails 5% of calls transiently. Every address must be accepted
 * exactly once, and the report and totals must account for every row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SesStandin, startSesStandin } from '../../local/ses-standin.ts';
import type { LocalStack } from '../../local/stack.ts';
import {
  address,
  allSent,
  BASE_REQUEST,
  countStates,
  expectEachExactly,
  recipientsCsv,
  reportRows,
  TEMPLATE,
} from '../support/guarantees.ts';
import { runCampaign, saveTemplate, startTestStack, uploadCsv } from '../support/local-stack.ts';

const ROWS = 10_000;

describe('10,000 recipients through throttling and transient failures', () => {
  let standin: SesStandin;
  let stack: LocalStack;

  beforeAll(async () => {
    let seed = 42;
    // A seeded generator: the failures are random but the same on every run.
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    standin = await startSesStandin({
      rateLimit: 200,
      burst: 5,
      transientFailureRate: 0.05,
      random,
      // The account says 1,000/s (so the campaign may ask for that), but SES throttles at 200/s: what
      // happens when other traffic shares the account. (Kept low so a busy shared machine still exceeds it.)
      quota: { max24HourSend: 1_000_000, maxSendRate: 1000 },
    });
    stack = await startTestStack({ sesEndpoint: standin.url, maxInFlight: 16 });
    await saveTemplate(stack, 'plain', TEMPLATE);
  });
  afterAll(async () => {
    await stack?.stop();
    await standin?.close();
  });

  it('accepts every address exactly once and accounts for every row', { timeout: 400_000 }, async () => {
    const recipientsKey = await uploadCsv(stack, 'ten-thousand.csv', recipientsCsv(ROWS));
    const started = performance.now();
    const { campaign, execution } = await runCampaign(stack, { ...BASE_REQUEST, recipientsKey, rate: 1000 });
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `10k campaign: ${seconds.toFixed(1)} s, stand-in stats ${JSON.stringify(standin.stats)}, ` +
        `peak ${standin.rates().peak.toFixed(0)}/s, mean ${standin.rates().mean.toFixed(0)}/s`,
    );

    expect(execution.status).toBe('SUCCEEDED');
    expect(campaign.status).toBe('completed');
    expect(campaign.totals).toEqual(allSent(ROWS));
    // The faults really happened: the test would prove nothing otherwise.
    expect(standin.stats.throttled).toBeGreaterThan(0);
    expect(standin.stats.transient).toBeGreaterThan(0);

    expectEachExactly(
      standin.counts(),
      Array.from({ length: ROWS }, (_, i) => address(i + 1)),
    );
    expect(standin.stats.accepted).toBe(ROWS);

    const rows = await reportRows(stack, campaign);
    expect(rows).toHaveLength(ROWS);
    expect(countStates(rows)).toEqual({ sent: ROWS });
    expect(new Set(rows.map((r) => r.row)).size).toBe(ROWS);
    expect(rows.every((r) => r.message_id?.startsWith('standin-'))).toBe(true);
    expect(new Set(rows.map((r) => r.message_id)).size).toBe(ROWS);
  });
});
