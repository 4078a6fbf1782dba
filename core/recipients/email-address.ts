/**
 * Address rules: deliberately stricter than RFC 5322 (no quoted local parts, no IP literals), since
 * those forms are almost always typos in a mailing list and SES rejects many of them anyway.
 */

const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export type AddressCheck = { ok: true; address: string; key: string } | { ok: false; reason: string };

/**
 * Trims the address and validates it. `key` is the identity used for duplicates, the ledger and
 * suppression: the same mailbox written in another case or with spaces around it is the same key.
 */
export function checkAddress(raw: string): AddressCheck {
  const address = raw.trim();
  if (address === '') return { ok: false, reason: 'email is empty' };
  if (address.length > 254) return { ok: false, reason: 'email is longer than 254 characters' };
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1)
    return { ok: false, reason: `"${address}" has no user@domain form` };
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64) return { ok: false, reason: 'the part before @ is longer than 64 characters' };
  if (!LOCAL.test(local))
    return { ok: false, reason: `"${address}" has characters not allowed before the @` };
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((label) => LABEL.test(label))) {
    return { ok: false, reason: `"${domain}" is not a valid domain` };
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] as string)) {
    return { ok: false, reason: `"${domain}" is not a valid domain` };
  }
  return { ok: true, address, key: addressKey(address) };
}

export function addressKey(address: string): string {
  return address.trim().toLowerCase();
}
