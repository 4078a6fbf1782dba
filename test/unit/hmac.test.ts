import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HmacSha256 } from '../../core/aws/fast/hmac.ts';

/** Keys and messages as strings (any UTF-16, lone surrogates included) or bytes, short and past a block. */
const text = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.string({ minLength: 200, maxLength: 2000 }),
);
const bytes = fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 60, maxLength: 70 }));
const input = fc.oneof(
  text,
  bytes.map((b) => Buffer.from(b)),
);

describe('HmacSha256', () => {
  it('gives what createHmac gives, for every key and every message in turn (the buffers are reused)', () => {
    fc.assert(
      fc.property(input, fc.array(input, { minLength: 1, maxLength: 8 }), (key, messages) => {
        const hmac = new HmacSha256(key);
        for (const message of messages) {
          const expected = createHmac('sha256', key).update(message);
          const digest = createHmac('sha256', key).update(message).digest();
          expect(hmac.digest(message).equals(digest)).toBe(true);
          expect(hmac.hex(message)).toBe(expected.digest('hex'));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('matches the RFC 4231 test vectors (a key longer than a block is hashed first)', () => {
    // Test case 2: key "Jefe".
    expect(new HmacSha256('Jefe').hex('what do ya want for nothing?')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    // Test case 6: a 131-byte key.
    expect(
      new HmacSha256(Buffer.alloc(131, 0xaa)).hex('Test Using Larger Than Block-Size Key - Hash Key First'),
    ).toBe('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
  });

  it('returns a digest of its own, not a view of a buffer the next MAC overwrites', () => {
    const hmac = new HmacSha256('secret');
    const first = hmac.digest('one');
    const copy = Buffer.from(first);
    hmac.digest('two');
    expect(first.equals(copy)).toBe(true);
  });
});
