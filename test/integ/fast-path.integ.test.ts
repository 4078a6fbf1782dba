/**
 * The benchmark's configuration keeps the guarantees: the thin SES transport, SendBatch in worker threads
 * and the in-memory ledger front, through throttling and transient failures, still send every address
 * exactly once and account for every row; and a systemic SES error raised in a worker thread fails the
 * campaign exactly as it does from the engine's own thread.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ledgerFront } from '../../bench/fast-ledger.ts';
import { type SesStandin, startSesStandin } from '../../local/ses-standin.ts';
import type { LocalStack } from '../../local/stack.ts';
import {
  address,
  BASE_REQUEST,
  countStates,
  expectEachExactly,
  recipientsCsv,
  reportRows,
  TEMPLATE,
} from '../support/guarantees.ts';
import { runCampaign, saveTemplate, startTestStack, uploadCsv } from '../support/local-stack.ts';

const ROWS = 2_000;
let standin: SesStandin | undefined;
let stack: LocalStack | undefined;

afterEach(async () => {
  await stack?.stop();
  await standin?.close();
  stack = undefined;
  standin = undefined;
});

async function start(options: Parameters<typeof startSesStandin>[0]) {
  standin = await startSesStandin({ quota: { max24HourSend: 1_000_000, maxSendRate: 1000 }, ...options });
  stack = await startTestStack({
    sesEndpoint: standin.url,
    sesTransport: 'fast',
    senderWorkers: 2,
    dynamoFront: ledgerFront,
    maxInFlight: 16,
  });
  await saveTemplate(stack, 'plain', TEMPLATE);
  return { standin, stack };
}

describe('thin transport + sender threads + in-memory ledger', () => {
  it('sends every address exactly once through throttling and transient failures', {
    timeout: 300_000,
  }, async () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const { standin, stack } = await start({ rateLimit: 300, burst: 5, transientFailureRate: 0.05, random });
    const recipientsKey = await uploadCsv(stack, 'fast.csv', recipientsCsv(ROWS));
    const { campaign, execution } = await runCampaign(stack, { ...BASE_REQUEST, recipientsKey, rate: 1000 });

    expect(execution.status).toBe('SUCCEEDED');
    expect(campaign.status).toBe('completed');
    expect(campaign.totals).toMatchObject({ rows: ROWS, sent: ROWS, failed: 0 });
    expect(standin.stats.throttled).toBeGreaterThan(0);
    expect(standin.stats.transient).toBeGreaterThan(0);
    expectEachExactly(
      standin.counts(),
      Array.from({ length: ROWS }, (_, i) => address(i + 1)),
    );
    const rows = await reportRows(stack, campaign);
    expect(rows).toHaveLength(ROWS);
    expect(countStates(rows)).toEqual({ sent: ROWS });
  });

  it('fails a paused campaign exactly as the in-thread sender does', { timeout: 120_000 }, async () => {
    const run = async (options: { senderWorkers?: number; dynamoFront?: typeof ledgerFront }) => {
      const standin = await startSesStandin({ quota: { max24HourSend: 1_000_000, maxSendRate: 1000 } });
      const stack = await startTestStack({ sesEndpoint: standin.url, sesTransport: 'fast', ...options });
      try {
        await saveTemplate(stack, 'plain', TEMPLATE);
        standin.stopSending('SendingPausedException');
        const recipientsKey = await uploadCsv(stack, 'paused.csv', recipientsCsv(50));
        const { campaign, execution } = await runCampaign(stack, {
          ...BASE_REQUEST,
          recipientsKey,
          rate: 100,
        });
        return {
          status: campaign.status,
          reason: campaign.statusReason,
          error: execution.error,
          accepted: standin.accepted,
        };
      } finally {
        await stack.stop();
        await standin.close();
      }
    };
    const pooled = await run({ senderWorkers: 2, dynamoFront: ledgerFront });
    const inThread = await run({});
    expect(pooled.status).toBe('failed');
    expect(pooled.reason).toContain('SendingPausedException');
    expect(pooled.accepted).toBe(0);
    // The error crossed the thread boundary with its name and message: the state machine saw the same.
    expect(pooled).toEqual(inThread);
  });
});
