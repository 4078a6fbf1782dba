/**
 * Unsubscribe tokens: `<campaignId>.<base64url(address key)>.<mac>`, where mac is HMAC-SHA256 over both
 * under a secret only sixback holds. The token names who and which campaign, so the link works without
 * a database lookup; anyone who alters either part, or invents a token, fails the MAC check.
 */
import { timingSafeEqual } from 'node:crypto';
import { HmacSha256 } from '../aws/fast/hmac.ts';
import { InvalidUnsubscribeTokenError } from '../errors.ts';

export interface TokenSubject {
  campaignId: string;
  /** The recipient's address key (trimmed, lowercase), as the suppression list stores it. */
  key: string;
}

/** 128 bits of MAC: far beyond guessing, and keeps the link short. */
const MAC_BYTES = 16;
const CAMPAIGN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The secret set up for HMAC once: a process signs every email's token under the same one. */
let keyed: { secret: string; hmac: HmacSha256 } | undefined;

function mac(secret: string, campaignId: string, encodedKey: string): Buffer {
  if (keyed?.secret !== secret) keyed = { secret, hmac: new HmacSha256(secret) };
  // Domain-separated so a MAC made for another purpose with the same secret can never pass as this one.
  return keyed.hmac.digest(`sixback/unsubscribe/v1\n${campaignId}\n${encodedKey}`).subarray(0, MAC_BYTES);
}

export function signUnsubscribeToken(secret: string, subject: TokenSubject): string {
  if (!CAMPAIGN_ID.test(subject.campaignId)) throw new Error(`not a campaign id: ${subject.campaignId}`);
  const encodedKey = Buffer.from(subject.key, 'utf8').toString('base64url');
  return `${subject.campaignId}.${encodedKey}.${mac(secret, subject.campaignId, encodedKey).toString('base64url')}`;
}

/** The subject of a genuine token; anything else throws InvalidUnsubscribeTokenError. */
export function verifyUnsubscribeToken(secret: string, token: string): TokenSubject {
  const refuse = (why: string) =>
    new InvalidUnsubscribeTokenError(
      `This unsubscribe link is not valid (${why}). Use the link from the email exactly as it was sent.`,
    );
  const parts = token.split('.');
  if (parts.length !== 3) throw refuse('malformed');
  const [campaignId, encodedKey, given] = parts as [string, string, string];
  if (
    !CAMPAIGN_ID.test(campaignId) ||
    !/^[A-Za-z0-9_-]+$/.test(encodedKey) ||
    !/^[A-Za-z0-9_-]+$/.test(given)
  )
    throw refuse('malformed');
  // Compared as canonical text, not decoded bytes: base64url decoding ignores the unused low bits of the
  // last character, so several spellings decode to one MAC and a token would be malleable.
  const expected = Buffer.from(mac(secret, campaignId, encodedKey).toString('base64url'), 'ascii');
  const actual = Buffer.from(given, 'ascii');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw refuse('bad signature');
  const key = Buffer.from(encodedKey, 'base64url').toString('utf8');
  // base64url decoding is lenient; re-encoding must give back exactly what was signed.
  if (Buffer.from(key, 'utf8').toString('base64url') !== encodedKey || !key.includes('@'))
    throw refuse('malformed');
  return { campaignId, key };
}
