/**
 * How a batch's worker loop starts: its first send goes out before the rest of the window's messages are
 * built (a process's first messages are its expensive ones), and starting the workers one by one neither
 * skips a row nor sends one twice, whatever the batch's size, the window and where the batch stops.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EmailSender, OutgoingEmail } from '../../core/sending/email-sender.ts';
import { MemoryLedger } from '../../core/sending/ledger.ts';
import { runWorkerLoop, type SendItem } from '../../core/sending/worker-loop.ts';

function loop(o: { rows: number; maxInFlight: number; failAt?: number; events?: string[] }) {
  const events = o.events ?? [];
  const sent: number[] = [];
  const items: SendItem[] = Array.from({ length: o.rows }, (_, i) => ({
    base: { i, row: i + 1, email: `r${i}@example.com` },
    key: `k${i}`,
    message: () => {
      events.push(`built ${i}`);
      return { from: 'news@sixback.example', to: `r${i}@example.com`, subject: 's', html: 'h' };
    },
  }));
  const emails: EmailSender = {
    async send(email: OutgoingEmail) {
      const i = Number(email.to.slice(1, email.to.indexOf('@')));
      events.push(`sent ${i}`);
      if (i === o.failAt)
        throw Object.assign(new Error('paused'), {
          name: 'AccountSuspendedException',
          $metadata: { httpStatusCode: 400 },
        });
      sent.push(i);
      return { messageId: `m${i}` };
    },
  };
  const outcomes: string[] = [];
  const done = runWorkerLoop(items, {
    campaignId: 'c1',
    run: 1,
    emails,
    ledger: new MemoryLedger(),
    maxInFlight: o.maxInFlight,
    attempts: 1,
    groupSize: 25,
    flushMs: 200,
    gate: undefined,
    gateIntervalMs: 500,
    stopCampaign: undefined,
    deadlineMs: 600_000,
    workerRate: 1_000_000,
    initialRate: undefined,
    sleep: async () => undefined,
    random: () => 0.5,
    now: () => performance.now(),
    settle: (outcome) => outcomes.push(`${outcome.i} ${outcome.state}`),
  });
  return { done, sent, outcomes, events };
}

describe("the worker loop's start", () => {
  it('sends its first email before it has built the rest of the first window', async () => {
    const run = loop({ rows: 40, maxInFlight: 16 });
    await run.done;
    const firstSend = run.events.indexOf('sent 0');
    expect(firstSend).toBeGreaterThanOrEqual(0);
    // The old start built all sixteen of the window's messages first.
    expect(firstSend).toBeLessThan(run.events.indexOf('built 15'));
    expect(run.sent.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('decides every row once, skipping none and sending none twice, however the batch ends', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 20 }),
        fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
        async (rows, maxInFlight, failAt) => {
          const run = loop({ rows, maxInFlight, ...(failAt !== undefined ? { failAt } : {}) });
          const result = await run.done;
          expect(new Set(run.sent).size).toBe(run.sent.length);
          const decided = run.outcomes.map((o) => Number(o.split(' ')[0]));
          expect(new Set(decided).size).toBe(decided.length);
          if (failAt === undefined || failAt >= rows) {
            expect(result.systemic).toBeUndefined();
            expect(run.sent.length).toBe(rows);
            expect(decided.length).toBe(rows);
          } else {
            // SES stopped the account: the batch ends systemically, and nothing is built after it ends.
            expect(result.systemic?.name).toBe('SesSendingStoppedError');
            const built = run.events.filter((e) => e.startsWith('built')).length;
            await new Promise((resolve) => setImmediate(resolve));
            expect(run.events.filter((e) => e.startsWith('built')).length).toBe(built);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
