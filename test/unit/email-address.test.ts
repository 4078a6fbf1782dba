import { domainToASCII } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressKey, checkAddress } from '../../core/recipients/email-address.ts';

describe('checkAddress', () => {
  it('accepts ordinary addresses and trims them', () => {
    expect(checkAddress('  Ada.Lovelace+news@Example.co.uk ')).toEqual({
      ok: true,
      address: 'Ada.Lovelace+news@Example.co.uk',
      key: 'ada.lovelace+news@example.co.uk',
    });
  });

  it.each([
    ['', 'email is empty'],
    ['not-an-address', 'has no user@domain form'],
    ['user@', 'has no user@domain form'],
    ['@example.com', 'has no user@domain form'],
    ['a b@example.com', 'contains an invisible character or a space (U+0020) before the @'],
    ['a..b@example.com', 'characters not allowed before the @'],
    ['user@localhost', 'is not a valid domain'],
    ['user@exa_mple.com', 'is not a valid domain'],
    ['user@example.123', 'is not a valid domain'],
    ['"quoted"@example.com', 'has a quoted part before the @'],
    ['Ann Lee <ann@example.com>', 'holds a name and an address; put only the address (ann@example.com)'],
    ['mailto:ann@example.com', 'is a mailto: link; put only the address (ann@example.com)'],
    ['ann@example.com, bob@example.com', 'holds more than one address; put one address per row'],
    ['ann@example.com;bob@example.com', 'holds more than one address; put one address per row'],
    [
      'josé@example.com',
      'not ASCII before the @; SES sends only to addresses whose part before the @ is ASCII',
    ],
    ['ann@example.com\u200b', 'contains an invisible character or a space (U+200B) after the @'],
    ['ann@exam\u00adple.com', '(U+00AD) after the @'],
  ])('refuses %j with a reason', (raw, reason) => {
    const result = checkAddress(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it.each([
    ['missing@domain', 'has no dot'],
    ['a@example..com', 'empty part'],
    ['a@.example.com', 'empty part'],
    ['a@exa_mple.com', 'part "exa_mple" may hold only letters, digits and inner hyphens'],
    ['a@-example.com', 'part "-example"'],
    ['a@example.123', 'ends in a number'],
  ])('says what is wrong with the domain of %j', (raw, why) => {
    const result = checkAddress(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toContain(`"${raw.slice(raw.lastIndexOf('@') + 1)}" is not a valid domain: `);
      expect(result.reason).toContain(why);
    }
  });

  it('refuses over-long addresses', () => {
    expect(checkAddress(`${'a'.repeat(65)}@example.com`)).toMatchObject({ ok: false });
    const longDomain = Array.from({ length: 5 }, () => 'd'.repeat(60)).join('.');
    expect(`a@${longDomain}.com`.length).toBeGreaterThan(254);
    expect(checkAddress(`a@${longDomain}.com`)).toMatchObject({
      ok: false,
      reason: 'email is longer than 254 characters',
    });
  });

  it('sends a domain in another script in its ASCII (Punycode) form, keyed as that form, and says so', () => {
    // SES takes 7-bit ASCII only and asks for Punycode in the domain: the address was refused before.
    expect(checkAddress(' Jorg@Bücher.de ')).toEqual({
      ok: true,
      address: 'Jorg@xn--bcher-kva.de',
      key: 'jorg@xn--bcher-kva.de',
      note: 'sent to Jorg@xn--bcher-kva.de: the domain Bücher.de in ASCII (Punycode), which SES requires',
    });
  });

  it('keys a domain in another script and its ASCII form alike, so they are duplicates', () => {
    const unicode = checkAddress('ann@日本.jp');
    const ascii = checkAddress('ann@xn--wgv71a.jp');
    expect(unicode.ok && ascii.ok && unicode.key === ascii.key).toBe(true);
  });

  it('gives the same key to the same mailbox written differently', () => {
    expect(addressKey(' USER@Example.COM')).toBe(addressKey('user@example.com'));
  });
});

/** The domain check as it was before its one-regex fast path (split, a test per label): the reference. */
function referenceDomainProblem(domain: string): string | undefined {
  const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
  const labels = domain.split('.');
  if (labels.length < 2)
    return 'it has no dot; a full domain has at least two parts, like example.com (the part after the @ may be cut off)';
  if (labels.some((label) => label === ''))
    return 'it has an empty part (two dots in a row, or a dot at the start or end)';
  const bad = labels.find((label) => !LABEL.test(label));
  if (bad !== undefined) {
    return bad.length > 63
      ? `its part "${bad.slice(0, 20)}..." is longer than 63 characters`
      : `its part "${bad}" may hold only letters, digits and inner hyphens`;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] as string))
    return 'it ends in a number; the last part is a top-level domain such as com or org';
  return undefined;
}

/** checkAddress as it was before the fast path, with the reference domain check. */
function referenceCheckAddress(raw: string) {
  const address = raw.trim();
  if (address === '') return { ok: false, reason: 'email is empty' };
  if (address.length > 254) return { ok: false, reason: 'email is longer than 254 characters' };
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1)
    return { ok: false, reason: `"${address}" has no user@domain form` };
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64) return { ok: false, reason: 'the part before @ is longer than 64 characters' };
  if (!/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/.test(local)) {
    if (local.includes(' '))
      return {
        ok: false,
        reason: `"${address}" contains an invisible character or a space (U+0020) before the @; remove it`,
      };
    return { ok: false, reason: `"${address}" has characters not allowed before the @` };
  }
  const why = referenceDomainProblem(domain);
  if (why && domain.includes(' '))
    return {
      ok: false,
      reason: `"${address}" contains an invisible character or a space (U+0020) after the @; remove it`,
    };
  // A domain in another script is sent in its ASCII form (SES takes 7-bit ASCII only).
  const ascii = why && /[^ -~]/.test(domain) ? domainToASCII(domain) : '';
  if (ascii !== '' && referenceDomainProblem(ascii) === undefined) {
    const sent = `${local}@${ascii}`;
    return {
      ok: true,
      address: sent,
      key: sent.toLowerCase(),
      note: `sent to ${sent}: the domain ${domain} in ASCII (Punycode), which SES requires`,
    };
  }
  if (why) return { ok: false, reason: `"${domain}" is not a valid domain: ${why}` };
  return { ok: true, address, key: address.trim().toLowerCase() };
}

describe('checkAddress against the per-label reference', () => {
  // Labels from the characters that matter to the rules: letters, digits, hyphens (inner and outer), an
  // underscore, a non-ASCII letter, a space; lengths around 63; empty labels; all-digit last labels.
  const label = fc.oneof(
    fc.stringMatching(/^[a-zA-Z0-9-]{0,8}$/),
    fc.stringMatching(/^[0-9]{1,4}$/),
    fc.constantFrom('', '-', 'a-', '-a', 'a_b', '\u00e9', 'xn--p1ai', ' a', 'a '),
    fc
      .integer({ min: 60, max: 66 })
      .chain((n) => fc.constantFrom('a'.repeat(n), `${'a'.repeat(n - 1)}-`, `b${'1'.repeat(n - 1)}`)),
  );
  const domain = fc.array(label, { minLength: 1, maxLength: 5 }).map((labels) => labels.join('.'));

  it('gives the same verdict and reason for every generated address', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9.+ ]{0,6}$/), domain, (local, host) => {
        const raw = `${local}@${host}`;
        expect(checkAddress(raw)).toEqual(referenceCheckAddress(raw));
      }),
      { numRuns: 5000 },
    );
  });

  it('has generated both valid and invalid domains, with each reason', () => {
    const reasons = new Set<string>();
    fc.assert(
      fc.property(domain, (host) => {
        const result = checkAddress(`a@${host}`);
        reasons.add(result.ok ? 'ok' : result.reason.replace(/.*: (it|its part)( [a-z]+).*/, '$1$2'));
      }),
      { numRuns: 3000, seed: 18 },
    );
    expect(reasons.size).toBeGreaterThanOrEqual(5);
    expect(reasons).toContain('ok');
  });
});
