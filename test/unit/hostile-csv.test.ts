/**
 * Recipients files as real tools write them and as an adversary would, through the scanner that the upload
 * check, campaign creation and Prepare share: each either reads exactly as a spreadsheet shows it, or is
 * refused with a message that names the line and says what to fix (docs/hostile-inputs.md).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecipientsFileError } from '../../core/errors.ts';
import {
  checkRecipients,
  MAX_HEADER_BYTES,
  MAX_RECORD_CHARS,
  RecipientsScanner,
  unpackVars,
} from '../../core/recipients/scanner.ts';
import type { PreparedRow } from '../../core/schemas.ts';

async function* chunksOf(bytes: Uint8Array, size = 64 * 1024) {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}
const utf8 = (text: string) => new TextEncoder().encode(text);

async function scan(bytes: Uint8Array | string, size?: number) {
  const scanner = new RecipientsScanner(chunksOf(typeof bytes === 'string' ? utf8(bytes) : bytes, size));
  const rows: PreparedRow[] = [];
  for await (const row of scanner.rows()) rows.push(row);
  return { rows, check: scanner.check };
}

async function refusal(bytes: Uint8Array | string): Promise<string> {
  const error = await scan(bytes).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RecipientsFileError);
  return (error as Error).message;
}

/** The variables every sendable row would be sent, in row order. */
function sentValues(rows: PreparedRow[], columns: string[]) {
  return rows.filter((r) => r.state === 'ok').map((r) => unpackVars(r.vars, columns));
}

const cell = fc.stringMatching(/^[A-Za-z0-9 éß日]{0,6}$/);
const table = fc.record({
  names: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/), { minLength: 1, maxLength: 4 }),
  rows: fc.array(fc.array(cell, { minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 12 }),
  eol: fc.constantFrom('\n', '\r\n'),
  delimiter: fc.constantFrom(',', ';', '\t'),
});
type Table = { names: string[]; rows: string[][]; eol: string; delimiter: string };

/** The file as a spreadsheet writes it, an email column first; and what each row must be sent. */
function written(t: Table, options: { trailingEmpty?: number } = {}) {
  const header = ['email', ...t.names.filter((n) => n !== 'email')];
  const blanks = t.delimiter.repeat(options.trailingEmpty ?? 0);
  const lines = [header.join(t.delimiter) + blanks];
  const expected: Record<string, string>[] = [];
  t.rows.forEach((values, i) => {
    const row = header.map((_, c) => (c === 0 ? `u${i}@example.com` : (values[c - 1] ?? '').trim()));
    lines.push(row.join(t.delimiter) + blanks);
    expected.push(Object.fromEntries(header.map((name, c) => [name, row[c] as string])));
  });
  return { text: lines.join(t.eol) + t.eol, header, expected };
}

describe('Excel and other exporters', () => {
  it('reads a file whose first line is Excel\'s "sep=" with that delimiter, the header being row 1', async () => {
    // Before: "Column 2 of the header row has no name." (the sep line was taken as the header).
    await fc.assert(
      fc.asyncProperty(table, fc.boolean(), fc.boolean(), async (t, bom, quoted) => {
        const { text, header, expected } = written(t);
        const sep = quoted ? `"sep=${t.delimiter}"` : `sep=${t.delimiter}`;
        const { rows, check } = await scan(`${bom ? '\uFEFF' : ''}${sep}${t.eol}${text}`);
        expect(check.columns).toEqual(header);
        expect(check.delimiter).toBe(t.delimiter);
        expect(rows.map((r) => r.row)).toEqual(t.rows.map((_, i) => i + 2));
        expect(sentValues(rows, header)).toEqual(expected);
      }),
      { numRuns: 150, seed: 6 },
    );
  });

  it('honours a sep= line naming a delimiter it would not detect (|)', async () => {
    const { rows, check } = await scan('sep=|\nemail|name\nada@example.com|Ada, Countess\n');
    expect(check.delimiter).toBe('|');
    expect(sentValues(rows, check.columns)).toEqual([{ email: 'ada@example.com', name: 'Ada, Countess' }]);
  });

  it('ignores trailing unnamed columns and trailing empty values, which lose nothing', async () => {
    // Before: "Column 3 of the header row has no name." for the header, and every row with trailing
    // delimiters invalid ("the extra values would be lost") though nothing would be.
    await fc.assert(
      fc.asyncProperty(table, fc.integer({ min: 1, max: 3 }), async (t, trailing) => {
        const { text, header, expected } = written(t, { trailingEmpty: trailing });
        const { rows, check } = await scan(text);
        expect(check.columns).toEqual(header);
        expect(check.invalid).toBe(0);
        expect(sentValues(rows, header)).toEqual(expected);
      }),
      { numRuns: 150, seed: 7 },
    );
  });

  it('still refuses a row with a value under an unnamed column, and an unnamed column in the middle', async () => {
    const { rows } = await scan('email,name,,\nada@example.com,Ada,,\nbob@example.com,Bob,,lost\n');
    expect(rows.map((r) => r.state)).toEqual(['ok', 'invalid']);
    expect(rows[1]?.note).toBe('has 4 fields but the header has 2; the extra values would be lost');
    expect(await refusal('email,,name\na@example.com,x,y\n')).toBe('Column 2 of the header row has no name.');
  });

  it('reads UTF-16 files with a byte order mark (Excel\'s "Unicode Text") as their UTF-8 twin', async () => {
    // Before: "This is not a CSV file: it contains binary data (a zero byte at byte 3)".
    await fc.assert(
      fc.asyncProperty(
        table,
        fc.constantFrom('le', 'be'),
        fc.integer({ min: 1, max: 7 }),
        async (t, order, size) => {
          const { text } = written(t);
          const le = Buffer.from(`\uFEFF${text}`, 'utf16le');
          const bytes = order === 'le' ? le : Buffer.from(le).swap16();
          const fromUtf16 = await scan(bytes, size);
          const fromUtf8 = await scan(text);
          expect(fromUtf16.rows).toEqual(fromUtf8.rows);
          expect(fromUtf16.check).toEqual(fromUtf8.check);
        },
      ),
      { numRuns: 100, seed: 8 },
    );
  });

  it('names the line, the byte and its Windows-1252 reading for a file that is not UTF-8', async () => {
    const latin1 = Buffer.from(
      'email,name\r\nada@example.com,"Ada\r\nLovelace"\r\nrene@example.com,Ren\xe9e\r\n',
      'latin1',
    );
    expect(await refusal(latin1)).toBe(
      `The recipients file is not UTF-8 text: line 4 has the byte 0xE9 (byte ${latin1.indexOf(0xe9)} of the file), which is "é" in Windows-1252 (Excel's plain "CSV"). Save it as "CSV UTF-8".`,
    );
  });

  it('names the line of a NUL, wherever the chunks split the file', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 30 }), async (size, at) => {
        const lines = Array.from({ length: 31 }, (_, i) => (i === 0 ? 'email,n' : `u${i}@example.com,${i}`));
        lines[at + 1] = `${lines[at + 1]}\0`;
        const error = await scan(utf8(lines.join('\n')), size).catch((e: unknown) => e);
        expect((error as Error).message).toBe(
          `This is not a CSV file: it contains binary data (a zero byte (NUL) on line ${at + 2}). Export the list as "CSV UTF-8".`,
        );
      }),
      { numRuns: 60, seed: 9 },
    );
  });
});

describe('files built to exhaust the reader', () => {
  it('refuses a header too large to travel with every batch, before reading any row', async () => {
    // Before: accepted at creation; Prepare then failed blaming "the campaign's data", or the campaign
    // item outgrew DynamoDB's 400 KB.
    const names = Array.from({ length: 20_000 }, (_, i) => `column_${i}`);
    const message = await refusal(`email,${names.join(',')}\nada@example.com\n`);
    expect(message).toMatch(
      new RegExp(
        `^The header row has 20001 columns taking \\d+ bytes; their names may take at most ${MAX_HEADER_BYTES} `,
      ),
    );
  });

  it('keeps a row longer than it can ever send out of memory, reports it, and reads the rows after it', async () => {
    const huge = 'x'.repeat(MAX_RECORD_CHARS * 3);
    const { rows, check } = await scan(`email,note\nada@example.com,${huge}\nbob@example.com,ok\n`);
    expect(rows.map((r) => [r.row, r.state])).toEqual([
      [2, 'invalid'],
      [3, 'ok'],
    ]);
    expect(rows[0]?.note).toBe(
      `is longer than ${MAX_RECORD_CHARS} characters (a very long value, or a quote that is never closed); it was not read`,
    );
    expect(check.rows).toBe(2);
  });

  it('refuses an unclosed quote that runs to the end of a large file with its line', async () => {
    const message = await refusal(`email,note\nada@example.com,"${'y'.repeat(MAX_RECORD_CHARS * 2)}\n`);
    expect(message).toBe(
      'The recipients file is not a valid CSV: a quoted field that starts on line 2 is never closed. Close the quote or remove the stray quote character.',
    );
  });

  it('refuses a header that could not be read whole', async () => {
    expect(await refusal(`email,${'n'.repeat(MAX_RECORD_CHARS + 1)}\nada@example.com,x\n`)).toBe(
      `The header row (line 1) is longer than ${MAX_RECORD_CHARS} characters (a very long value, or a quote that is never closed); it was not read.`,
    );
    expect(await refusal('"email" address,name\nada@example.com,x\n')).toMatch(
      /^The header row \(line 1\) column 1 has text after its closing quote/,
    );
  });

  it('accounts for every row of generated files with long, empty and trailing fields', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            valid: fc.boolean(),
            extra: fc.constantFrom('', ',', ',,', ', ,', ',x'),
            long: fc.boolean(),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        async (lines) => {
          const body = lines.map(
            (l, i) =>
              `${l.valid ? `u${i}@example.com` : 'nobody'},${l.long ? 'z'.repeat(70_000) : 'v'}${l.extra}`,
          );
          const check = await checkRecipients(chunksOf(utf8(`email,value\n${body.join('\n')}\n`)));
          expect(check.rows).toBe(lines.length);
          const sendable = lines.filter((l) => l.valid && !l.long && l.extra !== ',x').length;
          expect(check.valid).toBe(sendable);
          expect(check.valid + check.invalid + check.duplicates).toBe(lines.length);
        },
      ),
      { numRuns: 60, seed: 10 },
    );
  });
});
