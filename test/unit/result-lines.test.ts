import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bodyLines, resultEntries } from '../../core/workflow/finalise.ts';

/** The bytes cut at the given points, as a stream delivers them. */
const chunked = (bytes: Buffer, cuts: number[]) => {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const cut of [...at, bytes.length]) {
    if (cut > from) pieces.push(bytes.subarray(from, cut));
    from = Math.max(from, cut);
  }
  return pieces;
};

const collect = async (lines: AsyncIterable<string>) => {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
};

describe("Finalise's reading of result files", () => {
  it('splits lines as readline does (CRLF or LF), however the bytes are cut, multi-byte characters too', async () => {
    const text = fc.string({
      unit: fc.constantFrom('a', '{', '"', 'é', '😀', '\n', '\r\n', ' ', '€'),
      maxLength: 200,
    });
    await fc.assert(
      fc.asyncProperty(text, fc.array(fc.nat(), { maxLength: 8 }), async (input, cuts) => {
        const bytes = Buffer.from(input);
        const reference = await collect(
          createInterface({
            input: Readable.from(chunked(bytes, cuts)),
            crlfDelay: Number.POSITIVE_INFINITY,
          }),
        );
        expect(await collect(bodyLines(Readable.from(chunked(bytes, cuts))))).toEqual(reference);
      }),
      { numRuns: 500 },
    );
  });

  it('reads every entry of a JSONL file and of a JSON array file, in order', async () => {
    const entries = Array.from({ length: 50 }, (_, i) => ({
      campaignId: 'c1',
      outcomes: [{ i, row: i + 2 }],
    }));
    const jsonl = Buffer.from(`${entries.map((e) => JSON.stringify(e)).join('\r\n')}\n\n`);
    const array = Buffer.from(JSON.stringify(entries, null, 1));
    for (const body of [jsonl, array]) {
      const read: unknown[] = [];
      for await (const entry of resultEntries(Readable.from(chunked(body, [7, 100, 1000, 1001]))))
        read.push(entry);
      expect(read).toEqual(entries);
    }
  });
});
