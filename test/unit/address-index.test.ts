import { describe, expect, it } from 'vitest';
import { AddressIndex, murmur3x86x128 } from '../../core/recipients/address-index.ts';

describe('AddressIndex', () => {
  it('remembers the first row of every key through many growths, and nothing else', () => {
    const index = new AddressIndex(16);
    const n = 50_000;
    for (let i = 0; i < n; i++) {
      const key = `user-${i}@example.com`;
      expect(index.firstRow(key)).toBeUndefined();
      index.add(key, i + 2);
    }
    expect(index.size).toBe(n);
    for (let i = 0; i < n; i += 7) expect(index.firstRow(`user-${i}@example.com`)).toBe(i + 2);
    // Keys never added are never found, including ones that differ by a character or by case.
    for (let i = 0; i < n; i += 11) {
      expect(index.firstRow(`user-${i}@example.co`)).toBeUndefined();
      expect(index.firstRow(`User-${i}@example.com`)).toBeUndefined();
    }
  });

  it('keeps the first row when a key is added again', () => {
    const index = new AddressIndex();
    index.add('ada@example.com', 2);
    index.add('ada@example.com', 9);
    expect(index.firstRow('ada@example.com')).toBe(2);
    expect(index.size).toBe(1);
  });

  it('adds a key without a lookup first, and after a lookup of another key', () => {
    const index = new AddressIndex();
    expect(index.firstRow('a@example.com')).toBeUndefined();
    index.add('b@example.com', 3);
    expect(index.firstRow('b@example.com')).toBe(3);
    expect(index.firstRow('a@example.com')).toBeUndefined();
  });

  it('refuses row numbers it cannot store', () => {
    const index = new AddressIndex();
    expect(() => index.add('a@example.com', 0)).toThrow(RangeError);
    expect(() => index.add('a@example.com', 2 ** 32)).toThrow(RangeError);
    expect(() => index.add('a@example.com', 1.5)).toThrow(RangeError);
  });
});

/** MurmurHash3_x86_128 over bytes, straight from the reference C, to check the string version against. */
function referenceMurmur(data: Uint8Array, seed: number): number[] {
  const c = [0x239b961b, 0xab0e9789, 0x38b34ae5, 0xa1e38b93] as const;
  const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));
  const fmix = (h: number) => {
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return h ^ (h >>> 16);
  };
  const h = [seed, seed, seed, seed];
  const rot = [15, 16, 17, 18];
  const hrot = [19, 17, 15, 13];
  const add = [0x561ccd1b, 0x0bcaa747, 0x96cd1c35, 0x32ac3b17];
  const mixK = (j: number, k: number) =>
    Math.imul(rotl(Math.imul(k, c[j] as number), rot[j] as number), c[(j + 1) % 4] as number);
  const nblocks = Math.floor(data.length / 16);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let b = 0; b < nblocks; b++) {
    for (let j = 0; j < 4; j++) {
      h[j] = (h[j] as number) ^ mixK(j, view.getUint32(b * 16 + j * 4, true));
      h[j] = rotl(h[j] as number, hrot[j] as number);
      h[j] = ((h[j] as number) + (h[(j + 1) % 4] as number)) | 0;
      h[j] = (Math.imul(h[j] as number, 5) + (add[j] as number)) | 0;
    }
  }
  const k = [0, 0, 0, 0];
  for (let i = nblocks * 16; i < data.length; i++) {
    const at = i - nblocks * 16;
    k[at >> 2] = (k[at >> 2] as number) ^ ((data[i] as number) << (8 * (at & 3)));
  }
  for (let j = 0; j < 4; j++)
    if (data.length - nblocks * 16 > j * 4) h[j] = (h[j] as number) ^ mixK(j, k[j] as number);
  for (let j = 0; j < 4; j++) h[j] = (h[j] as number) ^ data.length;
  const mixAll = () => {
    h[0] = ((h[0] as number) + (h[1] as number) + (h[2] as number) + (h[3] as number)) | 0;
    for (let j = 1; j < 4; j++) h[j] = ((h[j] as number) + (h[0] as number)) | 0;
  };
  mixAll();
  for (let j = 0; j < 4; j++) h[j] = fmix(h[j] as number);
  mixAll();
  return h.map((x) => x >>> 0);
}

const hex = (words: ArrayLike<number>) =>
  Array.from(words, (w) => (w >>> 0).toString(16).padStart(8, '0')).join('');

describe('murmur3x86x128', () => {
  it('the byte reference gives the published MurmurHash3_x86_128 test vectors', () => {
    const bytes = (s: string) => new TextEncoder().encode(s);
    expect(hex(referenceMurmur(bytes('Hello, world!'), 123))).toBe('61c9129e5a1aacd7a41621629e37c886');
    expect(hex(referenceMurmur(bytes('Hello, world!'), 321))).toBe('d5fbdcb3c26c4193045880c5a7170f0f');
    expect(hex(referenceMurmur(bytes('xxxxxxxxxxxxxxxxxxxxxxxxxxxx'), 123))).toBe(
      '5e40bab278825a164cf929d31fec6047',
    );
    expect(hex(referenceMurmur(bytes(''), 123))).toBe('fedc524526f3e79926f3e79926f3e799');
  });

  it('hashes a string as the reference hashes its UTF-16LE bytes, for every length of tail', () => {
    let seed = 7;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789.@-_+ÄéøЖ漢字😀';
    for (let n = 0; n < 2000; n++) {
      const length = n % 40;
      let key = '';
      for (let i = 0; i < length; i++) key += alphabet[Math.floor(random() * alphabet.length)];
      const s = n % 3 === 0 ? 0 : Math.floor(random() * 2 ** 32);
      const ours = murmur3x86x128(key, new Uint32Array(4), s);
      expect(hex(ours), key).toBe(hex(referenceMurmur(new Uint8Array(Buffer.from(key, 'utf16le')), s)));
    }
  });
});
