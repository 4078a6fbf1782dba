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
    ['a b@example.com', 'characters not allowed before the @'],
    ['a..b@example.com', 'characters not allowed before the @'],
    ['user@localhost', 'is not a valid domain'],
    ['user@exa_mple.com', 'is not a valid domain'],
    ['user@example.123', 'is not a valid domain'],
    ['"quoted"@example.com', 'characters not allowed before the @'],
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

  it('gives the same key to the same mailbox written differently', () => {
    expect(addressKey(' USER@Example.COM')).toBe(addressKey('user@example.com'));
  });
});
