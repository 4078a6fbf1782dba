/** The not-UTF-8 error names the byte where the bad sequence starts (issue 12, item 8), however chunked. */
import { describe, expect, it } from 'vitest';
import { NotUtf8Error, readCsvRecords } from '../../core/recipients/csv.ts';
import { RecipientsScanner } from '../../core/recipients/scanner.ts';
import { seeded } from '../support/seeded.ts';

async function* chunks(data: Uint8Array, cuts: number[]): AsyncGenerator<Uint8Array> {
  let from = 0;
  for (const cut of [...cuts, data.length]) {
    if (cut > from) yield data.subarray(from, cut);
    from = Math.max(from, cut);
  }
}

async function nearByte(data: Uint8Array, cuts: number[] = []): Promise<number | undefined> {
  try {
    for await (const _ of readCsvRecords(chunks(data, cuts), { dialect: 'rfc4180' })) {
      // consume
    }
  } catch (error) {
    if (error instanceof NotUtf8Error) return error.nearByte;
    throw error;
  }
  return undefined;
}

describe('the not-UTF-8 offset', () => {
  it('says "byte 31" and the line for a bad byte at offset 31, in one chunk', async () => {
    const data = new Uint8Array([...Buffer.from('email,name\nada@example.com,Adam'), 0xff, 0x0a]);
    expect(data.indexOf(0xff)).toBe(31);
    expect(await nearByte(data)).toBe(31);
    const scanner = new RecipientsScanner(chunks(data, []));
    await expect(
      (async () => {
        for await (const _ of scanner.rows()) {
          // consume
        }
      })(),
    ).rejects.toThrow(/line 2 has the byte 0xFF \(byte 31 of the file\)/);
  });

  it('finds the start of the broken sequence at any position and any chunking (generated)', async () => {
    const random = seeded(8);
    const pieces = ['a', 'Z', ',', '\n', 'é', '€', '𝄞', 'ß', '"'];
    // Each bad case: bytes to insert, and how many of them precede the reported byte.
    const bad: number[][] = [
      [0xff],
      [0x80],
      [0xc3, 0x41],
      [0xe2, 0x82, 0x2c],
      [0xf0, 0x9f, 0x0a],
      [0xc0, 0xaf],
    ];
    for (let i = 0; i < 300; i++) {
      let text = '';
      const n = random.int(60);
      for (let j = 0; j < n; j++) text += random.pick(pieces);
      const good = Buffer.from(text, 'utf8');
      // Insert between characters only, so the insertion itself is what is broken.
      const boundaries = [0];
      for (let k = 1; k <= good.length; k++)
        if (k === good.length || (good[k]! & 0xc0) !== 0x80) boundaries.push(k);
      const at = random.pick(boundaries);
      const inserted = random.pick(bad);
      const data = new Uint8Array([...good.subarray(0, at), ...inserted, ...good.subarray(at), 0x61]);
      const cuts = Array.from({ length: random.int(5) }, () => random.int(data.length + 1)).sort(
        (x, y) => x - y,
      );
      expect(await nearByte(data, cuts), `${Buffer.from(data).toString('hex')} cut at ${cuts}`).toBe(at);
    }
  });

  it('names the start of a sequence cut off by the end of the file', async () => {
    const data = new Uint8Array([...Buffer.from('email\nx@y.z,'), 0xe2, 0x82]);
    expect(await nearByte(data)).toBe(12);
    expect(await nearByte(data, [13])).toBe(12);
  });
});
