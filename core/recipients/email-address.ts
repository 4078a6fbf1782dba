/**
 * Address rules: deliberately stricter than RFC 5322 (no quoted local parts, no IP literals), since
 * those forms are almost always typos in a mailing list and SES rejects many of them anyway. SES takes
 * 7-bit ASCII only (no SMTPUTF8): a domain in another script is sent in its ASCII (Punycode) form, as SES
 * asks, and a part before the @ that is not ASCII is refused, since it has no ASCII form.
 */

const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export type AddressCheck =
  | {
      ok: true;
      address: string;
      key: string;
      /** Set when the address sent differs from the one written: its domain in ASCII (Punycode). */
      note?: string;
    }
  | { ok: false; reason: string };

/** `Ann <ann@example.com>`: a name and an address, as mail programs copy them. */
const NAME_ADDR = /^[^<>]*<\s*([^<>\s]+@[^<>\s]+)\s*>$/;
/** Characters nobody sees (zero-width spaces, joiners, soft hyphens, direction marks, BOMs) and spaces. */
const INVISIBLE = /[\p{Cf}\s]/u;
const NON_ASCII = /[^ -~\t\r\n]/;
/** What a domain may hold for its conversion to ASCII to be tried: no URL syntax. */
const DOMAIN_TEXT = /^[^\s/?#@:[\]\\%<>"]+$/;

function codePoint(text: string): string {
  const match = INVISIBLE.exec(text);
  const point = match ? (match[0].codePointAt(0) as number) : 0;
  return `U+${point.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The ASCII (IDNA/Punycode) form of a domain written in another script, as browsers compute it. */
function asciiDomain(domain: string): string | undefined {
  if (!DOMAIN_TEXT.test(domain)) return undefined;
  try {
    return new URL(`http://${domain}/`).hostname;
  } catch {
    return undefined;
  }
}

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
  if (!LOCAL.test(local)) return { ok: false, reason: localProblem(address, local) };
  const why = domainProblem(domain);
  if (why) {
    if (INVISIBLE.test(domain)) {
      return {
        ok: false,
        reason: `"${address}" contains an invisible character or a space (${codePoint(domain)}) after the @; remove it`,
      };
    }
    const ascii = NON_ASCII.test(domain) ? asciiDomain(domain) : undefined;
    if (ascii !== undefined && domainProblem(ascii) === undefined) {
      const sent = `${local}@${ascii}`;
      if (sent.length > 254) return { ok: false, reason: 'email is longer than 254 characters in ASCII' };
      return {
        ok: true,
        address: sent,
        key: addressKey(sent),
        note: `sent to ${sent}: the domain ${domain} in ASCII (Punycode), which SES requires`,
      };
    }
    return { ok: false, reason: `"${domain}" is not a valid domain: ${why}` };
  }
  return { ok: true, address, key: addressKey(address) };
}

/** Why the part before the @ is refused, in words that say what to change. */
function localProblem(address: string, local: string): string {
  if (/@[^@]*[\s,;][^@]*@/.test(address))
    return `"${address}" holds more than one address; put one address per row`;
  if (/^mailto:/i.test(address))
    return `"${address}" is a mailto: link; put only the address (${address.slice(7)}) in the email column`;
  const named = NAME_ADDR.exec(address);
  if (named)
    return `"${address}" holds a name and an address; put only the address (${named[1]}) in the email column`;
  if (local.length > 1 && local.startsWith('"') && local.endsWith('"'))
    return `"${address}" has a quoted part before the @, which sixback does not send to (few mail systems accept one)`;
  if (INVISIBLE.test(local))
    return `"${address}" contains an invisible character or a space (${codePoint(local)}) before the @; remove it`;
  if (NON_ASCII.test(local))
    return `"${address}" has letters that are not ASCII before the @; SES sends only to addresses whose part before the @ is ASCII (it does not support SMTPUTF8)`;
  return `"${address}" has characters not allowed before the @`;
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
