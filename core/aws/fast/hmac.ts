/**
 * HMAC-SHA256 under one key, for MACs made by the million under a key that stays the same (the
 * unsubscribe token's secret, SigV4's signing key of the day). RFC 2104 is two SHA-256 digests over the key
 * padded to a block: the padded keys are made once here, and each MAC is two one-shot `crypto.hash` calls
 * over reused buffers. `createHmac` instead builds a Hmac object and sets the key up again on every call
 * (on OpenSSL 3 that includes looking the digest up): profiled on the 3 KB benchmark, its constructor alone
 * was 5% of a sender thread for the two MACs of each email. test/unit/hmac.test.ts holds it equal to
 * `createHmac` on generated keys and messages.
 */
import { createHash, createHmac, hash } from 'node:crypto';

const BLOCK_BYTES = 64;
const DIGEST_BYTES = 32;
const oneShot = typeof hash === 'function';

export class HmacSha256 {
  /** The key XOR ipad, then room for the message (grown when a message does not fit). */
  private inner: Buffer;
  /** The key XOR opad, then the inner digest. */
  private readonly outer = Buffer.allocUnsafe(BLOCK_BYTES + DIGEST_BYTES);
  private readonly key: Buffer;

  constructor(key: string | Buffer) {
    const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
    // A key longer than a block is replaced by its digest (RFC 2104, section 2).
    this.key = bytes.length > BLOCK_BYTES ? createHash('sha256').update(bytes).digest() : bytes;
    this.inner = Buffer.allocUnsafe(BLOCK_BYTES + 256);
    this.inner.fill(0x36, 0, BLOCK_BYTES);
    this.outer.fill(0x5c, 0, BLOCK_BYTES);
    for (let i = 0; i < this.key.length; i++) {
      (this.inner[i] as number) ^= this.key[i] as number;
      (this.outer[i] as number) ^= this.key[i] as number;
    }
  }

  /** The 32-byte MAC of `message` (a string is taken as UTF-8, as `createHmac().update()` takes it). */
  digest(message: string | Buffer): Buffer {
    if (!oneShot) return createHmac('sha256', this.key).update(message).digest();
    return hash('sha256', this.outerBlock(message), 'buffer') as unknown as Buffer;
  }

  /** The MAC as lower-case hex. */
  hex(message: string | Buffer): string {
    if (!oneShot) return createHmac('sha256', this.key).update(message).digest('hex');
    return hash('sha256', this.outerBlock(message), 'hex');
  }

  /** The outer digest's input: opad key, then the inner digest of ipad key and message. */
  private outerBlock(message: string | Buffer): Buffer {
    const length = typeof message === 'string' ? Buffer.byteLength(message, 'utf8') : message.length;
    if (BLOCK_BYTES + length > this.inner.length) {
      const grown = Buffer.allocUnsafe(BLOCK_BYTES + Math.max(length, 2 * this.inner.length));
      this.inner.copy(grown, 0, 0, BLOCK_BYTES);
      this.inner = grown;
    }
    if (typeof message === 'string') this.inner.write(message, BLOCK_BYTES, 'utf8');
    else message.copy(this.inner, BLOCK_BYTES);
    const innerDigest = hash(
      'sha256',
      this.inner.subarray(0, BLOCK_BYTES + length),
      'buffer',
    ) as unknown as Buffer;
    innerDigest.copy(this.outer, BLOCK_BYTES);
    return this.outer;
  }
}
