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
 * Every CSV row ends in exactly one of these. `failed`: SES was asked and refused, or the row's batch
 * failed after every retry. `not_sent`: the row was never attempted (the campaign was cancelled, or
 * stopped before sending began, or a resend of failed rows skipped it); its reason says why.
 */
export const RECIPIENT_STATES = ['sent', 'duplicate', 'suppressed', 'invalid', 'failed', 'not_sent'] as const;
export type RecipientState = (typeof RECIPIENT_STATES)[number];

export type RecipientCounts = Record<RecipientState, number>;

/** How people should read a state: delivered to SES, skipped on purpose, a problem, or never tried. */
export const RECIPIENT_STATE_TONE: Record<RecipientState, 'ok' | 'skipped' | 'problem' | 'untried'> = {
  sent: 'ok',
  duplicate: 'skipped',
  suppressed: 'skipped',
  invalid: 'problem',
  failed: 'problem',
  not_sent: 'untried',
};

/** Labels for people, one per state. */
export const RECIPIENT_STATE_LABEL: Record<RecipientState, string> = {
  sent: 'Sent',
  duplicate: 'Duplicate',
  suppressed: 'Suppressed',
  invalid: 'Invalid',
  failed: 'Failed',
  not_sent: 'Not sent',
};

export function emptyCounts(): RecipientCounts {
  return Object.fromEntries(RECIPIENT_STATES.map((state) => [state, 0])) as RecipientCounts;
}

export function addCounts(into: RecipientCounts, more: Partial<RecipientCounts>): RecipientCounts {
  // Records written before a state existed lack its count.
  for (const state of RECIPIENT_STATES) into[state] = (into[state] ?? 0) + (more[state] ?? 0);
  return into;
}

export function totalOf(counts: RecipientCounts): number {
  return RECIPIENT_STATES.reduce((sum, state) => sum + (counts[state] ?? 0), 0);
}
