/**
 * Campaign statuses, their legal transitions, and the terminal states of a recipient row.
 * This module is the only place that knows them.
 */
import { IllegalTransitionError } from '../errors.ts';

export const CAMPAIGN_STATUSES = [
  'pending', // recorded, execution starting, recipients being checked
  'scheduled', // checked, waiting for its send time
  'sending',
  'completed', // every row reached a terminal state and none failed
  'completed_with_failures', // every row reached a terminal state, some failed (within tolerance)
  'failed', // stopped by a campaign-level problem; the status reason says which
  'cancelled',
] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

const TRANSITIONS: Record<CampaignStatus, readonly CampaignStatus[]> = {
  pending: ['scheduled', 'sending', 'failed', 'cancelled'],
  scheduled: ['sending', 'failed', 'cancelled'],
  sending: ['completed', 'completed_with_failures', 'failed', 'cancelled'],
  completed: [],
  // A campaign that did not reach everyone can be resumed: it goes back to pending with a new execution.
  completed_with_failures: ['pending'],
  failed: ['pending'],
  cancelled: ['pending'],
};

export function canTransition(from: CampaignStatus, to: CampaignStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(from: CampaignStatus, to: CampaignStatus): void {
  if (!canTransition(from, to)) {
    throw new IllegalTransitionError(`A campaign that is ${from} cannot become ${to}.`, {
      details: { from, to, allowed: [...TRANSITIONS[from]] },
    });
  }
}

/** Statuses from which the campaign's own execution will change nothing more. */
export function isFinal(status: CampaignStatus): boolean {
  return TRANSITIONS[status].every((next) => next === 'pending');
}

/**
 * Every CSV row ends in exactly one of these. `not_sent`: never attempted, because the campaign stopped
 * before it sent anything (its file or quota was refused in Prepare, or it was cancelled before its time);
 * the report's reason says why. Unlike `failed`, a resend of failed rows does not pick it up.
 */
export const RECIPIENT_STATES = ['sent', 'duplicate', 'suppressed', 'invalid', 'failed', 'not_sent'] as const;
export type RecipientState = (typeof RECIPIENT_STATES)[number];

export type RecipientCounts = Record<RecipientState, number>;

export function emptyCounts(): RecipientCounts {
  return { sent: 0, duplicate: 0, suppressed: 0, invalid: 0, failed: 0, not_sent: 0 };
}

export function addCounts(into: RecipientCounts, more: Partial<RecipientCounts>): RecipientCounts {
  // Records written before a state existed lack its count.
  for (const state of RECIPIENT_STATES) into[state] = (into[state] ?? 0) + (more[state] ?? 0);
  return into;
}

export function totalOf(counts: RecipientCounts): number {
  return RECIPIENT_STATES.reduce((sum, state) => sum + (counts[state] ?? 0), 0);
}
