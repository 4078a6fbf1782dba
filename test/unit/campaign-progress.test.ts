/**
 * The live progress of a sending campaign: the expected finish is a date or null at any rate, however
 * slow (an A/B sample of a few rows read minutes into its wait rounded the rate to 0, and the division by
 * it threw "Invalid time value": a 500 on every read of the campaign and on `sixback pick`).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyCounts } from '../../core/campaigns/status.ts';
import type { AbTestRecord, CampaignRecord } from '../../core/campaigns/store.ts';
import { campaignProgress, campaignView } from '../../core/campaigns/view.ts';
import { campaignRecord } from '../support/campaign-record.ts';

const STARTED = Date.parse('2026-12-01T10:00:00.000Z');

function sending(rows: number, sent: number, rate: number, abTest?: AbTestRecord): CampaignRecord {
  const started = new Date(STARTED).toISOString();
  return campaignRecord({
    ...(abTest
      ? {
          spec: {
            abTest: {
              variants: [{}, {}],
              sample: 0.5,
              metric: 'clicks',
              confidence: 0.95,
              fallback: 'A',
              decideAfter: '30d',
            },
          } as Partial<CampaignRecord['spec']>,
          abTest,
        }
      : {}),
    rate,
    createdAt: started,
    updatedAt: started,
    startedAt: started,
    progress: { ...emptyCounts(), sent },
    check: { rows, valid: rows },
  });
}

const waitingTest = (phase: AbTestRecord['phase'], decision?: AbTestRecord['decision']): AbTestRecord => ({
  variants: [
    { name: 'A', templateId: 't', templateVersion: 1 },
    { name: 'B', templateId: 't', templateVersion: 1 },
  ],
  metric: 'clicks',
  phase,
  assigned: { A: 1, B: 0 },
  remainder: 1,
  sent: { A: 1, B: 0 },
  sampleSentAt: new Date(STARTED + 2_000).toISOString(),
  decisionDue: new Date(STARTED + 2_000 + 30 * 86_400_000).toISOString(),
  ...(decision ? { decision } : {}),
});

describe('campaignProgress', () => {
  it('gives a date, not a throw, when the measured rate rounds to 0 (1 row sent, 25 s in)', () => {
    const now = new Date(STARTED + 25_000);
    const progress = campaignProgress(sending(3, 1, 100), now);
    expect(progress.ratePerSecond).toBe(0);
    // 2 rows left at the real 0.04 rows/s: 50 s after now.
    expect(progress.expectedFinishAt).toBe(new Date(now.getTime() + 50_000).toISOString());
  });

  it("projects an undecided A/B test's end from its decision time, and none while held for a pick", () => {
    const now = new Date(STARTED + 25_000);
    const waiting = waitingTest('waiting');
    const view = campaignView(sending(3, 1, 100, waiting), { now });
    // The 2 rows left go at the planned 100/s once the decision is taken.
    expect(view.progress.expectedFinishAt).toBe(
      new Date(Date.parse(waiting.decisionDue as string) + 20).toISOString(),
    );
    expect(campaignProgress(sending(3, 1, 100, waitingTest('held')), now).expectedFinishAt).toBeNull();
    const decided = waitingTest('decided', {
      variant: 'B',
      by: 'manual',
      at: new Date(now).toISOString(),
      reason: 'picked by hand',
    });
    // Decided: the measured rate again.
    expect(campaignProgress(sending(3, 1, 100, decided), now).expectedFinishAt).toBe(
      new Date(now.getTime() + 50_000).toISOString(),
    );
  });

  it('never throws, and the expected finish is null or not before now, for any progress and time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: -60_000, max: 400 * 86_400_000 }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.constantFrom(undefined, 'sample', 'waiting', 'held', 'decided'),
        (rows, sentRaw, elapsedMs, rate, phase) => {
          const sent = Math.min(rows, sentRaw);
          const test = phase ? waitingTest(phase as AbTestRecord['phase']) : undefined;
          const now = new Date(STARTED + elapsedMs);
          const progress = campaignView(sending(rows, sent, rate, test), { now }).progress;
          if (progress.expectedFinishAt !== null) {
            expect(Date.parse(progress.expectedFinishAt)).toBeGreaterThanOrEqual(now.getTime());
          }
          if (progress.ratePerSecond !== null) expect(progress.ratePerSecond).toBeGreaterThanOrEqual(0);
        },
      ),
    );
  });
});
