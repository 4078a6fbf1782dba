/**
 * The one dialect of the user's recipients file (RFC 4180 as spreadsheets write and show it), and what
 * happens to each kind of bad row: issue 12 items 2, 3 and 5.
 */
import { describe, expect, it } from 'vitest';
import { RecipientsFileError } from '../../core/errors.ts';
import { RecipientsScanner, type ScanOptions, unpackVars } from '../../core/recipients/scanner.ts';
import type { PreparedRow } from '../../core/schemas.ts';

async function* source(text: string, chunkSize = 5) {
  const bytes = new TextEncoder().encode(text);
  for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.slice(i, i + chunkSize);
}

async function scan(text: string, options: ScanOptions = {}) {
  const scanner = new RecipientsScanner(source(text), options);
  const rows: PreparedRow[] = [];
  for await (const row of scanner.rows()) rows.push(row);
  const vars = rows.map((r) => (r.state === 'ok' ? unpackVars(r.vars, scanner.check.columns) : undefined));
  return { rows, check: scanner.check, vars };
}

describe('a quote inside an unquoted field', () => {
  it('is part of the value and never swallows the next row (5\'11")', async () => {
    const { rows, vars, check } = await scan(
      `email,height\nada@example.com,5'11"\ngrace@example.com,6'0"\ntim@example.com,5'9"\n`,
    );
    expect(rows.map((r) => [r.row, r.state, r.email])).toEqual([
      [2, 'ok', 'ada@example.com'],
      [3, 'ok', 'grace@example.com'],
      [4, 'ok', 'tim@example.com'],
    ]);
    expect(vars.map((v) => v?.height)).toEqual([`5'11"`, `6'0"`, `5'9"`]);
    expect(check).toMatchObject({ rows: 3, valid: 3, invalid: 0 });
  });

  it('keeps an even number of quotes exactly as written (37°36\'37.8"N)', async () => {
    const { vars } = await scan(`email,lat,lon\nada@example.com,37°36'37.8"N,122°22'29.0"W\n`);
    expect(vars[0]).toEqual({ email: 'ada@example.com', lat: `37°36'37.8"N`, lon: `122°22'29.0"W` });
  });
});

describe('text after a closing quote', () => {
  it('makes that row invalid with a reason, and only that row', async () => {
    const { rows, check, vars } = await scan(
      'email,name\nada@example.com,"Ada" Lovelace\ngrace@example.com,"Grace ""Amazing"" Hopper"\n',
    );
    expect(rows.map((r) => [r.row, r.state])).toEqual([
      [2, 'invalid'],
      [3, 'ok'],
    ]);
    expect(check.problems).toEqual([
      {
        row: 2,
        problem:
          'column 2 has text after its closing quote; quote the whole value and double the quotes inside it ("" for ")',
      },
    ]);
    expect(vars[1]?.name).toBe('Grace "Amazing" Hopper');
  });
});

describe('backslashes', () => {
  it('are ordinary characters, quoted or not (no AWS escapes in the user file)', async () => {
    const { vars } = await scan(
      'email,path,quoted\nada@example.com,C:\\temp\\new,"a\\bc, \\n"\ngrace@example.com,a\\\\b,"x\\"""\n',
    );
    expect(vars[0]).toMatchObject({ path: 'C:\\temp\\new', quoted: 'a\\bc, \\n' });
    expect(vars[1]).toMatchObject({ path: 'a\\\\b', quoted: 'x\\"' });
  });

  it('a backslash before a closing quote ("x\\"y") is reported on its row, not fatal to the file', async () => {
    const { rows, check } = await scan('email,name\nada@example.com,"x\\"y"\ngrace@example.com,Grace\n');
    expect(rows.map((r) => r.state)).toEqual(['invalid', 'ok']);
    expect(check.problems[0]?.problem).toMatch(/^column 2 has text after its closing quote/);
  });
});

describe('delimiters', () => {
  it('detects the semicolons Excel writes in many locales, and says so in the check', async () => {
    const { check, vars } = await scan('E-Mail;Vorname;Betrag\r\nada@example.com;Jörg;"1,50"\r\n');
    expect(check).toMatchObject({ delimiter: ';', columns: ['E-Mail', 'Vorname', 'Betrag'], valid: 1 });
    expect(vars[0]).toEqual({ 'E-Mail': 'ada@example.com', Vorname: 'Jörg', Betrag: '1,50' });
  });

  it('detects tabs, and keeps commas when the header has them', async () => {
    expect((await scan('email\tname\na@example.com\tA, B\n')).check.delimiter).toBe('\t');
    const comma = await scan('email,note\na@example.com,x;y;z\n');
    expect(comma.check.delimiter).toBe(',');
    expect(comma.vars[0]?.note).toBe('x;y;z');
  });
});

describe('short rows (fewer fields than the header)', () => {
  const csv = 'email,first_name,city\nada@example.com,Ada,London\ngrace@example.com,Grace\ntim@example.com\n';

  it('are skipped by default: invalid, not sent, row numbers in the check', async () => {
    const { rows, check } = await scan(csv);
    expect(rows.map((r) => [r.row, r.state])).toEqual([
      [2, 'ok'],
      [3, 'invalid'],
      [4, 'invalid'],
    ]);
    expect(check).toMatchObject({ shortRows: 2, shortRowNumbers: [3, 4], invalid: 2 });
    expect(rows[1]?.note).toBe('has 2 fields but the header has 3 (a short row)');
  });

  it('are padded with empty values and sent with a note when asked (shortRows: pad)', async () => {
    const { rows, check, vars } = await scan(csv, { shortRows: 'pad' });
    expect(rows.map((r) => r.state)).toEqual(['ok', 'ok', 'ok']);
    expect(vars[1]).toEqual({ email: 'grace@example.com', first_name: 'Grace', city: '' });
    expect(vars[2]).toEqual({ email: 'tim@example.com', first_name: '', city: '' });
    expect(rows[1]?.note).toBe(
      'padded: has 2 fields but the header has 3; the missing values were sent empty',
    );
    expect(rows[0]?.note).toBe('');
    expect(check).toMatchObject({ shortRows: 2, shortRowNumbers: [3, 4], valid: 3, invalid: 0 });
  });

  it('refuse the whole file, naming the rows, when asked (shortRows: refuse)', async () => {
    const error = await scan(csv, { shortRows: 'refuse' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecipientsFileError);
    expect((error as Error).message).toBe(
      '2 rows have fewer fields than the header (3): rows 3, 4. Fill in the missing fields, or choose shortRows "skip" (report them, send the rest) or "pad" (send them with the missing values empty).',
    );
  });

  it('a row with more fields than the header is always invalid (its extra values would be lost)', async () => {
    const { rows } = await scan('email,name\nada@example.com,Ada,extra\n', { shortRows: 'pad' });
    expect(rows[0]).toMatchObject({
      state: 'invalid',
      note: 'has 3 fields but the header has 2; the extra values would be lost',
    });
  });
});
