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
  const why = domainProblem(domain);
  if (why) return { ok: false, reason: `"${domain}" is not a valid domain: ${why}` };
  return { ok: true, address, key: addressKey(address) };
}

/** Two or more labels, each a LABEL: the domains domainProblem finds nothing wrong with, but for the last
 * label being all digits. One test for the usual valid domain instead of a split and a test per label. */
const VALID_LABELS =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const DIGITS = /^[0-9]+$/;

/** What is wrong with the part after the @, in words a person can act on; undefined when nothing is. */
function domainProblem(domain: string): string | undefined {
  if (VALID_LABELS.test(domain)) {
    return DIGITS.test(domain.slice(domain.lastIndexOf('.') + 1))
      ? 'it ends in a number; the last part is a top-level domain such as com or org'
      : undefined;
  }
  const labels = domain.split('.');
  if (labels.length < 2)
    return 'it has no dot; a full domain has at least two parts, like example.com (the part after the @ may be cut off)';
  // Loops rather than some/find with arrow functions: this runs for every row of a recipients file.
  for (const label of labels) {
    if (label === '') return 'it has an empty part (two dots in a row, or a dot at the start or end)';
  }
  let bad: string | undefined;
  for (const label of labels) {
    if (!LABEL.test(label)) {
      bad = label;
      break;
    }
  }
  if (bad !== undefined) {
    return bad.length > 63
      ? `its part "${bad.slice(0, 20)}..." is longer than 63 characters`
      : `its part "${bad}" may hold only letters, digits and inner hyphens`;
  }
  if (DIGITS.test(labels[labels.length - 1] as string))
    return 'it ends in a number; the last part is a top-level domain such as com or org';
  return undefined;
}

export function addressKey(address: string): string {
  return address.trim().toLowerCase();
}
