import { describe, expect, it } from 'vitest';
import {
  addCounts,
  assertTransition,
  CAMPAIGN_STATUSES,
  canTransition,
  emptyCounts,
  isFinal,
  RECIPIENT_STATE_LABEL,
  RECIPIENT_STATE_TONE,
  RECIPIENT_STATES,
  totalOf,
} from '../../core/campaigns/status.ts';
import { IllegalTransitionError } from '../../core/errors.ts';

describe('campaign status transitions', () => {
  it('follows the normal life of a campaign', () => {
    expect(canTransition('pending', 'scheduled')).toBe(true);
    expect(canTransition('scheduled', 'sending')).toBe(true);
    expect(canTransition('sending', 'completed')).toBe(true);
  });

  it('never leaves completed, and never skips straight to completed', () => {
    for (const to of CAMPAIGN_STATUSES) expect(canTransition('completed', to)).toBe(false);
    expect(canTransition('pending', 'completed')).toBe(false);
    expect(canTransition('scheduled', 'completed')).toBe(false);
  });

  it('lets stopped campaigns be resumed through pending', () => {
    for (const from of ['failed', 'cancelled', 'completed_with_failures'] as const) {
      expect(canTransition(from, 'pending')).toBe(true);
      expect(isFinal(from)).toBe(true);
    }
    expect(isFinal('sending')).toBe(false);
  });

  it('throws a named error listing the allowed moves', () => {
    expect(() => assertTransition('completed', 'sending')).toThrow(IllegalTransitionError);
    // toThrow fails when nothing is thrown, unlike an assertion inside a catch block.
    expect(() => assertTransition('scheduled', 'completed')).toThrow(
      expect.objectContaining({
        name: 'IllegalTransitionError',
        details: { from: 'scheduled', to: 'completed', allowed: ['sending', 'failed', 'cancelled'] },
      }),
    );
  });
});

describe('recipient counts', () => {
  it('has exactly the six terminal states and adds them up', () => {
    expect(RECIPIENT_STATES).toEqual(['sent', 'duplicate', 'suppressed', 'invalid', 'failed', 'not_sent']);
    const counts = addCounts(emptyCounts(), { sent: 3, invalid: 1 });
    addCounts(counts, { sent: 1, failed: 2 });
    expect(counts).toEqual({ sent: 4, duplicate: 0, suppressed: 0, invalid: 1, failed: 2, not_sent: 0 });
    expect(totalOf(counts)).toBe(7);
    // A record written before not_sent existed lacks its count; adding to it still gives numbers.
    const old = { sent: 1, duplicate: 0, suppressed: 0, invalid: 0, failed: 0 } as ReturnType<
      typeof emptyCounts
    >;
    expect(addCounts(old, { not_sent: 2 })).toMatchObject({ sent: 1, not_sent: 2 });
    expect(totalOf(old)).toBe(3);
  });

  it('gives every state a label and a tone, and not_sent is not a problem', () => {
    for (const state of RECIPIENT_STATES) {
      expect(RECIPIENT_STATE_LABEL[state]).toBeTruthy();
      expect(RECIPIENT_STATE_TONE[state]).toBeTruthy();
    }
    expect(RECIPIENT_STATE_TONE.failed).toBe('problem');
    expect(RECIPIENT_STATE_TONE.not_sent).toBe('untried');
  });
});
