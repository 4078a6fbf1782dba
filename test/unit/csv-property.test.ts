/**
 * Every row accounted for, every value exact, for generated files: the scanner writes the prepared file,
 * which is read back the way the Distributed Map reads it (AWS dialect, header row, PreparedRowSchema)
 * and unpacked as the sender unpacks it. Two oracles that share no code with the scanner decide what each
 * row must be: the generator's model and csv-parse.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { preparedChunks, RecipientsScanner } from '../../core/recipients/scanner.ts';
import type { ShortRowAction } from '../../core/schemas.ts';
import {
  type Cell,
  cellValue,
  csvParseRecords,
  decodePrepared,
  expectedRows,
  type GeneratedCsv,
  generatedCsv,
} from '../support/csv-gen.ts';

async function* bytes(text: string, chunkSize: number) {
  const data = new TextEncoder().encode(text);
  for (let i = 0; i < data.length; i += chunkSize) yield data.slice(i, i + chunkSize);
}

/** Prepares a file and decodes the prepared file as the Map and the sender do. */
async function prepareAndDecode(csv: GeneratedCsv, shortRows: ShortRowAction, chunkSize: number) {
  const scanner = new RecipientsScanner(bytes(csv.text, chunkSize), { shortRows });
  let prepared = '';
  for await (const chunk of preparedChunks(scanner)) prepared += chunk;
  return { rows: await decodePrepared(prepared, scanner.check.columns), check: scanner.check };
}

describe('generated recipients files', () => {
  it('every row ends in exactly one state, and every value sent is the exact cell', async () => {
    await fc.assert(
      fc.asyncProperty(
        generatedCsv,
        fc.constantFrom<ShortRowAction>('skip', 'pad'),
        fc.integer({ min: 1, max: 64 }),
        async (csv, shortRows, chunkSize) => {
          const expected = expectedRows(csv, shortRows);
          fc.pre(expected.length > 0);
          const { rows, check } = await prepareAndDecode(csv, shortRows, chunkSize);

          // Accounting: one prepared row per data row, numbered 2..n+1, each in one state.
          expect(rows.map((r) => r.row)).toEqual(expected.map((r) => r.row));
          expect(check.rows).toBe(expected.length);
          expect(check.valid + check.invalid + check.duplicates).toBe(check.rows);
          expect(check.delimiter).toBe(csv.delimiter);
          // The model: each row's state, and the exact values of each row that is sent.
          expect(rows).toEqual(expected);

          // csv-parse, as an independent reader of the same dialect: every sent value is its cell.
          const records = csvParseRecords(csv);
          expect(records.length - 1).toBe(expected.length);
          const header = records[0] as string[];
          for (const row of rows) {
            if (!row.vars) continue;
            const cells = records[row.row - 1] as string[];
            header.forEach((name, i) => {
              const cell = cells[i] ?? '';
              expect(row.vars?.[name]).toBe(i === csv.emailIndex ? cell.trim() : cell);
            });
          }
        },
      ),
      { seed: 12, numRuns: 300 },
    );
  });

  it('shortRows: refuse refuses exactly the files that have a short row', async () => {
    await fc.assert(
      fc.asyncProperty(generatedCsv, async (csv) => {
        const expected = expectedRows(csv, 'skip');
        fc.pre(expected.length > 0);
        // A row with text after a closing quote is invalid for that first: its field count means little.
        const short = csv.lines.some(
          (l) =>
            l.kind === 'record' &&
            l.cells.length < csv.header.length &&
            l.cells.every((c) => c.form !== 'after-quote') &&
            !(l.cells.length === 1 && cellValue(l.cells[0] as Cell) === ''),
        );
        const outcome = await prepareAndDecode(csv, 'refuse', 16).then(
          () => 'accepted',
          (error: Error) => error.message,
        );
        if (short) expect(outcome).toMatch(/rows have fewer fields than the header/);
        else expect(outcome).toBe('accepted');
      }),
      { seed: 12, numRuns: 100 },
    );
  });
});
