/**
 * Which part of an A/B test a recipient is in: one of the variants of the sample, or the remainder. A pure
 * function of the campaign id and the recipient's address key, so a retried Prepare, a resumed campaign,
 * the finaliser and the events handler all agree without storing anything per recipient.
 */
import { createHash } from 'node:crypto';
import type { CampaignRecord } from '../campaigns/store.ts';
import { addressKey } from '../recipients/email-address.ts';

export const VARIANT_NAMES = ['A', 'B', 'C', 'D', 'E'] as const;

/**
 * A uniform number in [0, 1) from SHA-256 of the campaign id and the key (48 bits of it). A cryptographic
 * hash, not a fast one: addresses that look alike (a1@, a2@...) must not land together.
 */
export function assignmentPoint(campaignId: string, key: string): number {
  const digest = createHash('sha256').update(campaignId).update('\u0000').update(key).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * The variant of the sample this key is sent (A, B, ...), or undefined for the remainder. The sample is
 * the keys whose point is below `sample`, cut into `variants` equal slices.
 */
export function sampleVariant(
  campaignId: string,
  key: string,
  sample: number,
  variants: number,
): string | undefined {
  const point = assignmentPoint(campaignId, key);
  if (point >= sample) return undefined;
  return VARIANT_NAMES[Math.min(variants - 1, Math.floor((point / sample) * variants))];
}

/** A report row's variant: its sample variant, else the decided one; '' for rows never to be sent. */
export function reportVariant(
  campaign: Pick<CampaignRecord, 'id' | 'spec' | 'abTest'>,
  email: string,
  state: string,
): string {
  const spec = campaign.spec.abTest;
  if (!spec || state === 'duplicate' || state === 'invalid') return '';
  return (
    sampleVariant(campaign.id, addressKey(email), spec.sample, spec.variants.length) ??
    campaign.abTest?.decision?.variant ??
    ''
  );
}
