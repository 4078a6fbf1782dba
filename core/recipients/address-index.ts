/**
 * The rows seen so far, by address key, for the recipients scan's duplicate check: the one part of a scan
 * that grows with the file. A Map of a million address strings holds about 140 MB of heap (and slows
 * every garbage collection while it lives); this table holds a 128-bit digest of each key and its row
 * number in typed arrays, about 40 bytes a row at the worst load, outside the heap.
 *
 * Two different addresses are taken for the same one only if their 128-bit MurmurHash3 digests (x86_128,
 * over the key's UTF-16 code units) agree: for a file of n rows that happens with probability about
 * n^2 / 2^129 (1e-27 for a million), far below the chance of a hardware memory error during the scan.
 * A non-cryptographic hash is enough: the file's own author is the only one choosing its addresses, and
 * the scan costs a fraction of a microsecond a row instead of the 2.5 µs of a node:crypto call.
 */
const WORDS = 4;

export class AddressIndex {
  private capacity: number;
  private digests: Uint32Array;
  /** The row of each slot; 0 marks an empty slot (rows count from 2, the header is row 1). */
  private rows: Uint32Array;
  private used = 0;

  constructor(initialCapacity = 1 << 12) {
    this.capacity = 2 ** Math.ceil(Math.log2(Math.max(16, initialCapacity)));
    this.digests = new Uint32Array(this.capacity * WORDS);
    this.rows = new Uint32Array(this.capacity);
  }

  get size(): number {
    return this.used;
  }

  private static digest(key: string): Uint32Array {
    return murmur3x86x128(key, AddressIndex.scratch);
  }

  /** One digest at a time is alive outside the table: the lookup's, reused. */
  private static readonly scratch = new Uint32Array(WORDS);

  /** The slot holding this digest, or the empty slot where it would go. */
  private slotOf(d: Uint32Array): number {
    const mask = this.capacity - 1;
    let slot = (d[0] as number) & mask;
    for (;;) {
      if (this.rows[slot] === 0) return slot;
      const at = slot * WORDS;
      if (
        this.digests[at] === d[0] &&
        this.digests[at + 1] === d[1] &&
        this.digests[at + 2] === d[2] &&
        this.digests[at + 3] === d[3]
      )
        return slot;
      slot = (slot + 1) & mask;
    }
  }

  /**
   * The last key looked up, its digest and slot: the usual add follows its lookup, so it reuses them. Kept
   * in fields and one reused array, not an object and a copy of the digest per lookup (a row each).
   */
  private pendingKey: string | undefined;
  private readonly pendingDigest = new Uint32Array(WORDS);
  private pendingSlot = 0;

  /** The row this key was recorded at, if any. */
  firstRow(key: string): number | undefined {
    const digest = AddressIndex.digest(key);
    const slot = this.slotOf(digest);
    this.pendingKey = key;
    copyDigest(digest, this.pendingDigest);
    this.pendingSlot = slot;
    const row = this.rows[slot] as number;
    return row === 0 ? undefined : row;
  }

  /** Records the key at `row` (a positive integer below 2^32) unless it is recorded already. */
  add(key: string, row: number): void {
    if (!(row > 0 && row < 2 ** 32 && Number.isInteger(row)))
      throw new RangeError(`not a row number: ${row}`);
    if (this.pendingKey !== key) {
      const digest = AddressIndex.digest(key);
      copyDigest(digest, this.pendingDigest);
      this.pendingSlot = this.slotOf(digest);
    }
    this.pendingKey = undefined;
    const slot = this.pendingSlot;
    if (this.rows[slot] !== 0) return;
    const at = slot * WORDS;
    const d = this.pendingDigest;
    this.digests[at] = d[0] as number;
    this.digests[at + 1] = d[1] as number;
    this.digests[at + 2] = d[2] as number;
    this.digests[at + 3] = d[3] as number;
    this.rows[slot] = row;
    this.used++;
    // Half full at most: probes stay short.
    if (this.used * 2 > this.capacity) this.grow();
  }

  private grow() {
    const oldDigests = this.digests;
    const oldRows = this.rows;
    this.capacity *= 2;
    this.digests = new Uint32Array(this.capacity * WORDS);
    this.rows = new Uint32Array(this.capacity);
    for (let slot = 0; slot < oldRows.length; slot++) {
      const row = oldRows[slot] as number;
      if (row === 0) continue;
      const d = oldDigests.subarray(slot * WORDS, slot * WORDS + WORDS);
      const to = this.slotOf(d);
      this.digests.set(d, to * WORDS);
      this.rows[to] = row;
    }
  }
}

/** Four words, assigned one by one: TypedArray.prototype.set costs more than the copy at this size. */
function copyDigest(from: Uint32Array, to: Uint32Array): void {
  to[0] = from[0] as number;
  to[1] = from[1] as number;
  to[2] = from[2] as number;
  to[3] = from[3] as number;
}

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;
const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));
const fmix = (h: number) => {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
};

/** The 32-bit word of code units i and i + 1 (0 past the end); a function of the module, not a closure per hash. */
const tailWord = (key: string, i: number) =>
  key.charCodeAt(i) | (i + 1 < key.length ? key.charCodeAt(i + 1) << 16 : 0);

/**
 * MurmurHash3_x86_128 of the string's UTF-16LE bytes, written into `out` as four 32-bit words.
 * Two code units make one 32-bit word; eight make a 16-byte block.
 */
export function murmur3x86x128(key: string, out: Uint32Array, seed = 0): Uint32Array {
  const units = key.length;
  const bytes = units * 2;
  let h1 = seed | 0;
  let h2 = seed | 0;
  let h3 = seed | 0;
  let h4 = seed | 0;
  const blocks = units >>> 3;
  for (let b = 0; b < blocks; b++) {
    const i = b * 8;
    let k1 = key.charCodeAt(i) | (key.charCodeAt(i + 1) << 16);
    let k2 = key.charCodeAt(i + 2) | (key.charCodeAt(i + 3) << 16);
    let k3 = key.charCodeAt(i + 4) | (key.charCodeAt(i + 5) << 16);
    let k4 = key.charCodeAt(i + 6) | (key.charCodeAt(i + 7) << 16);
    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = rotl(h1, 19) + h2;
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = rotl(h2, 17) + h3;
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = rotl(h3, 15) + h4;
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = rotl(h4, 13) + h1;
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }
  // The tail: 0 to 7 code units, 0 to 14 bytes, mixed in word by word as the reference does.
  const tail = blocks * 8;
  const left = units - tail;
  if (left > 6) h4 ^= Math.imul(rotl(Math.imul(tailWord(key, tail + 6), C4), 18), C1);
  if (left > 4) h3 ^= Math.imul(rotl(Math.imul(tailWord(key, tail + 4), C3), 17), C4);
  if (left > 2) h2 ^= Math.imul(rotl(Math.imul(tailWord(key, tail + 2), C2), 16), C3);
  if (left > 0) h1 ^= Math.imul(rotl(Math.imul(tailWord(key, tail), C1), 15), C2);
  h1 ^= bytes;
  h2 ^= bytes;
  h3 ^= bytes;
  h4 ^= bytes;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  out[0] = h1;
  out[1] = h2;
  out[2] = h3;
  out[3] = h4;
  return out;
}
