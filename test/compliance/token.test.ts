import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signUnsubscribeToken, verifyUnsubscribeToken } from '../../core/compliance/token.ts';
import { UnsubscribeLinks } from '../../core/compliance/unsubscribe.ts';
import { ConfigError, InvalidUnsubscribeTokenError, ValidationError } from '../../core/errors.ts';
import { seeded } from '../support/seeded.ts';

const SECRET = 'a'.repeat(40);
const subject = { campaignId: 'c123', key: 'ann@example.com' };

describe('unsubscribe tokens', () => {
  it('round-trips the campaign and the recipient', () => {
    const token = signUnsubscribeToken(SECRET, subject);
    expect(token).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(verifyUnsubscribeToken(SECRET, token)).toEqual(subject);
  });

  it('refuses a token signed with another secret (forgery)', () => {
    const forged = signUnsubscribeToken('b'.repeat(40), subject);
    expect(() => verifyUnsubscribeToken(SECRET, forged)).toThrow(InvalidUnsubscribeTokenError);
  });

  it('refuses a token whose recipient or campaign was swapped (tampering)', () => {
    const [campaignId, , mac] = signUnsubscribeToken(SECRET, subject).split('.');
    const otherKey = Buffer.from('bob@example.com').toString('base64url');
    expect(() => verifyUnsubscribeToken(SECRET, `${campaignId}.${otherKey}.${mac}`)).toThrow(
      InvalidUnsubscribeTokenError,
    );
    const [, key] = signUnsubscribeToken(SECRET, subject).split('.');
    expect(() => verifyUnsubscribeToken(SECRET, `c999.${key}.${mac}`)).toThrow(InvalidUnsubscribeTokenError);
  });

  it('refuses a flipped MAC character, a truncated token and garbage', () => {
    const token = signUnsubscribeToken(SECRET, subject);
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    const flipped = `${token.slice(0, -2)}${last}${token.at(-1)}`;
    for (const bad of [
      flipped,
      token.slice(0, -4),
      token.split('.').slice(0, 2).join('.'),
      '',
      'x.y.z',
      '../..',
    ]) {
      expect(() => verifyUnsubscribeToken(SECRET, bad), bad).toThrow(InvalidUnsubscribeTokenError);
    }
  });

  it('refuses a MAC whose unused low bits of the last character were changed (malleability)', () => {
    // 16 bytes are 22 base64url characters; the last one carries 2 bits and 4 unused ones, so 16
    // different characters decode to the same bytes. Only the canonical one is the token.
    const token = signUnsubscribeToken(SECRET, subject);
    const last = token.at(-1) as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sameBytes = [...alphabet].filter(
      (c) =>
        c !== last &&
        Buffer.from(`${token.split('.')[2]?.slice(0, -1)}${c}`, 'base64url').equals(
          Buffer.from(token.split('.')[2] as string, 'base64url'),
        ),
    );
    expect(sameBytes.length).toBeGreaterThan(0);
    for (const c of sameBytes) {
      expect(() => verifyUnsubscribeToken(SECRET, `${token.slice(0, -1)}${c}`), c).toThrow(
        InvalidUnsubscribeTokenError,
      );
    }
  });

  it('refuses every single-character mutation, insertion and deletion of a valid token (generated)', () => {
    const random = seeded(6);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ %@';
    for (let t = 0; t < 25; t++) {
      const key = `u${random.int(1e6)}@ex${random.int(100)}.com`;
      const token = signUnsubscribeToken(SECRET, { campaignId: `c${random.int(1e6)}`, key });
      expect(verifyUnsubscribeToken(SECRET, token).key).toBe(key);
      for (let i = 0; i < token.length; i++) {
        for (const mutated of [
          token.slice(0, i) + token.slice(i + 1),
          token.slice(0, i) + random.pick([...alphabet]) + token.slice(i),
          // Every character at the end (where the unused bits are), a few random ones elsewhere.
          ...(i >= token.length - 2
            ? [...alphabet]
            : Array.from({ length: 4 }, () => random.pick([...alphabet]))
          ).map((c) => token.slice(0, i) + c + token.slice(i + 1)),
        ]) {
          if (mutated === token) continue;
          expect(() => verifyUnsubscribeToken(SECRET, mutated), mutated).toThrow(
            InvalidUnsubscribeTokenError,
          );
        }
      }
    }
  });
});

describe('UnsubscribeLinks', () => {
  const links = new UnsubscribeLinks({
    region: 'us-east-1',
    publicBaseUrl: 'https://mail.example.com/',
    unsubscribeSecret: SECRET,
    unsubscribeMailto: 'unsub@example.com',
  });

  it('builds the RFC 8058 headers around a signed https link', () => {
    const extras = links.extras('c123', 'ann@example.com');
    expect(extras.unsubscribeUrl).toMatch(
      /^https:\/\/mail\.example\.com\/u\/c123\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/,
    );
    expect(extras.headers).toEqual([
      {
        name: 'List-Unsubscribe',
        value: `<${extras.unsubscribeUrl}>, <mailto:unsub@example.com?subject=unsubscribe>`,
      },
      { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
    ]);
  });

  it('verifies its own links and loads a remote secret once', async () => {
    let loads = 0;
    const remote = new UnsubscribeLinks(
      { region: 'us-east-1', publicBaseUrl: 'https://x.example' },
      async () => {
        loads++;
        return SECRET;
      },
    );
    expect(() => remote.extras('c1', 'a@b.co')).toThrow(ConfigError);
    await Promise.all([remote.ready(), remote.ready()]);
    const token = remote.extras('c1', 'a@b.co').unsubscribeUrl.split('/u/')[1] as string;
    expect(await remote.verify(token)).toEqual({ campaignId: 'c1', key: 'a@b.co' });
    expect(loads).toBe(1);
  });

  it('says which setting is missing when there is no public base URL', () => {
    const bare = new UnsubscribeLinks({ region: 'us-east-1', unsubscribeSecret: SECRET });
    expect(() => bare.extras('c1', 'a@b.co')).toThrow(/SIXBACK_PUBLIC_BASE_URL/);
  });

  it('makes the links and headers the per-email construction made, as the configuration changes (generated)', () => {
    // The construction before the fixed parts were made once: the MAC with createHmac, the base trimmed,
    // both headers checked, all per email.
    const reference = (
      secret: string,
      base: string,
      mailto: string | undefined,
      campaignId: string,
      key: string,
    ) => {
      const encodedKey = Buffer.from(key, 'utf8').toString('base64url');
      const mac = createHmac('sha256', secret)
        .update(`sixback/unsubscribe/v1\n${campaignId}\n${encodedKey}`)
        .digest()
        .subarray(0, 16)
        .toString('base64url');
      const url = `${base.replace(/\/+$/, '')}/u/${campaignId}.${encodedKey}.${mac}`;
      const targets = [`<${url}>`];
      if (mailto) targets.push(`<mailto:${mailto}?subject=unsubscribe>`);
      const value = targets.join(', ');
      if (/[\r\n]/.test(value)) return 'refused';
      return {
        unsubscribeUrl: url,
        headers: [
          { name: 'List-Unsubscribe', value },
          { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
        ],
      };
    };
    const base = fc.constantFrom(
      'https://mail.example.com',
      'https://x.example/',
      'http://localhost:8787//',
      'https://a.example/p\r\nX: y',
    );
    const mailto = fc.option(fc.constantFrom('unsub@example.com', 'u@x.example', 'bad@x\nBcc: y'), {
      nil: undefined,
    });
    const campaignId = fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/);
    const key = fc.oneof(fc.emailAddress(), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }));
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 70 }),
        fc.array(fc.tuple(base, mailto, campaignId, key), { minLength: 1, maxLength: 6 }),
        (secret, calls) => {
          const config: {
            region: string;
            unsubscribeSecret: string;
            publicBaseUrl?: string;
            unsubscribeMailto?: string;
          } = { region: 'us-east-1', unsubscribeSecret: secret };
          const links = new UnsubscribeLinks(config);
          for (const [baseUrl, mail, id, k] of calls) {
            // The local stack sets the base URL after the links exist; a deployment may change either.
            config.publicBaseUrl = baseUrl;
            if (mail === undefined) delete config.unsubscribeMailto;
            else config.unsubscribeMailto = mail;
            const expected = reference(secret, baseUrl, mail, id, k);
            if (expected === 'refused') expect(() => links.extras(id, k)).toThrow(ValidationError);
            else {
              expect(links.extras(id, k)).toEqual(expected);
              expect(links.url({ campaignId: id, key: k })).toBe(expected.unsubscribeUrl);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
