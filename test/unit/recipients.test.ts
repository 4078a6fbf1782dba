import { describe, expect, it } from 'vitest';
import { RecipientsFileError } from '../../core/errors.ts';
import { CsvTokenizer } from '../../core/recipients/csv.ts';
import {
  checkRecipients,
  MAX_ROW_BYTES,
  PREPARED_HEADER,
  packValues,
  packVars,
  preparedChunks,
  RecipientsScanner,
  unpackVars,
} from '../../core/recipients/scanner.ts';
import type { PreparedRow } from '../../core/schemas.ts';

async function* source(text: string | Uint8Array, chunkSize = 7) {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.slice(i, i + chunkSize);
}

async function scan(text: string | Uint8Array, options = {}) {
  const scanner = new RecipientsScanner(source(text), options);
  const rows: PreparedRow[] = [];
  for await (const row of scanner.rows()) rows.push(row);
  return { rows, check: scanner.check };
}

describe('RecipientsScanner', () => {
  it('reads a clean file: every row ok, columns packed as template variables', async () => {
    const { rows, check } = await scan('email,first_name\nada@example.com,Ada\ngrace@example.com,Grace\n');
    expect(check).toMatchObject({
      columns: ['email', 'first_name'],
      emailColumn: 'email',
      rows: 2,
      valid: 2,
      invalid: 0,
      duplicates: 0,
    });
    expect(rows.map((r) => [r.row, r.state, r.email])).toEqual([
      [2, 'ok', 'ada@example.com'],
      [3, 'ok', 'grace@example.com'],
    ]);
    expect(unpackVars(rows[0]?.vars ?? '', check.columns)).toEqual({
      email: 'ada@example.com',
      first_name: 'Ada',
    });
  });

  it('handles a BOM, CRLF line ends, quoted delimiters and line breaks, and blank lines', async () => {
    const { rows, check } = await scan(
      '\uFEFFEmail,note\r\n\r\n"a@example.com","x, ""y""\r\nz"\r\n\r\nb@example.com,plain\r\n',
    );
    expect(check).toMatchObject({ emailColumn: 'Email', rows: 2, valid: 2, blankLines: 2 });
    expect(unpackVars(rows[0]?.vars ?? '', check.columns)).toEqual({
      Email: 'a@example.com',
      note: 'x, "y"\r\nz',
    });
    // Rows are numbered as records, the header being row 1, whatever blank lines sit between them.
    expect(rows.map((r) => r.row)).toEqual([2, 3]);
  });

  it('marks later rows with the same mailbox as duplicates of the first', async () => {
    const { rows, check } = await scan(
      'email\nAda@Example.com\n ada@example.com \nADA@EXAMPLE.COM\nb@example.com\n',
    );
    expect(rows.map((r) => r.state)).toEqual(['ok', 'duplicate', 'duplicate', 'ok']);
    expect(rows[1]?.note).toBe('same address as row 2');
    expect(check).toMatchObject({ valid: 2, duplicates: 2 });
    // Which rows, not only how many: the upload check shows them.
    expect(check.duplicateRows).toEqual([
      { row: 3, sameAs: 2 },
      { row: 4, sameAs: 2 },
    ]);
  });

  it('records row-level problems as invalid rows with reasons, and keeps going', async () => {
    const { rows, check } = await scan(
      'email,name\nnot-an-email,X\nok@example.com\nok2@example.com,Y,extra\nok3@example.com,Z\n',
    );
    expect(rows.map((r) => [r.row, r.state])).toEqual([
      [2, 'invalid'],
      [3, 'invalid'],
      [4, 'invalid'],
      [5, 'ok'],
    ]);
    expect(check.problems).toEqual([
      { row: 2, problem: '"not-an-email" has no user@domain form' },
      { row: 3, problem: 'has 1 fields but the header has 2 (a short row)' },
      { row: 4, problem: 'has 3 fields but the header has 2; the extra values would be lost' },
    ]);
  });

  it('refuses a row too large for one batch', async () => {
    const { rows } = await scan(`email,blob\nbig@example.com,${'x'.repeat(MAX_ROW_BYTES)}\n`);
    expect(rows[0]).toMatchObject({ state: 'invalid' });
    expect(rows[0]?.note).toMatch(/a row may hold at most/);
  });

  it('uses the email column the user names', async () => {
    const { rows } = await scan('work,home\nw@example.com,h@example.com\n', { emailColumn: 'home' });
    expect(rows[0]?.email).toBe('h@example.com');
  });

  it.each([
    ['an empty file', '', /is empty/],
    ['a file of blank lines', '\n\r\n\n', /is empty/],
    ['a header without rows', 'email,name\n', /has a header \(email, name\) but no recipient rows/],
    ['no email column', 'name,city\nAda,Seoul\n', /No email column: the header has "name", "city"/],
    ['a duplicated column name', 'email,name,name\na@example.com,x,y\n', /names the column "name" twice/],
    ['an unnamed column', 'email,,name\na@example.com,x,y\n', /Column 2 of the header row has no name/],
    ['a pipe-delimited file', 'email|name\na@example.com|x\n', /seems to use "\|" between columns/],
    ['an unclosed quote', 'email\n"a@example.com\n', /quoted field that starts on line 2 is never closed/],
  ])('refuses %s with a message that says what to fix', async (_, text, message) => {
    await expect(scan(text)).rejects.toThrow(message);
    await expect(scan(text)).rejects.toBeInstanceOf(RecipientsFileError);
  });

  it('refuses bytes that are not UTF-8 and binary files', async () => {
    const latin1 = new Uint8Array([...new TextEncoder().encode('email,name\na@example.com,Jos'), 0xe9, 0x0a]);
    await expect(scan(latin1)).rejects.toThrow(/not UTF-8 text.*Save it as "CSV UTF-8"/);
    const binary = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x08]);
    await expect(scan(binary)).rejects.toThrow(/binary data/);
  });

  it('stops at the header when the caller refuses it', async () => {
    const scanner = new RecipientsScanner(source('email,first\na@example.com,A\n'), {
      onHeader: () => {
        throw new RecipientsFileError('template needs "city"');
      },
    });
    await expect(
      (async () => {
        for await (const _ of scanner.rows()) {
          // consume
        }
      })(),
    ).rejects.toThrow('template needs "city"');
    expect(scanner.check.rows).toBe(0);
  });
});

describe('the prepared file', () => {
  it('is plain ASCII that the AWS CSV dialect reads back to the same rows', async () => {
    const text =
      'email,note\n"we\\ird@example.com",x\nq@example.com,"a ""quote"", a \\ backslash, a comma\nand a line"\nnot valid,z\n';
    const scanner = new RecipientsScanner(source(text));
    let prepared = '';
    for await (const chunk of preparedChunks(scanner)) prepared += chunk;
    expect(prepared.startsWith(PREPARED_HEADER)).toBe(true);
    expect(/^[\x20-\x7e\n]*$/.test(prepared)).toBe(true);
    const tokenizer = new CsvTokenizer({ dialect: 'aws' });
    const records = [...tokenizer.push(prepared), ...tokenizer.end()].map((r) => r.fields);
    expect(records[0]).toEqual(['row', 'state', 'email', 'note', 'vars']);
    expect(records[2]?.[1]).toBe('ok');
    expect(unpackVars(records[2]?.[4] ?? '', scanner.check.columns)).toEqual({
      email: 'q@example.com',
      note: 'a "quote", a \\ backslash, a comma\nand a line',
    });
    expect(records[3]?.[1]).toBe('invalid');
    expect(decodeURIComponent(records[3]?.[3] ?? '')).toContain('"not valid" has no user@domain form');
  });

  it('packs each row as its values, the names once in the header; both forms unpack', () => {
    const values = packValues(['ada@example.com', 'Ada', '']);
    const object = packVars({ email: 'ada@example.com', first_name: 'Ada', city: '' });
    expect(values.length).toBeLessThan(object.length * 0.7);
    expect(unpackVars(values, ['email', 'first_name', 'city'])).toEqual(unpackVars(object));
    // The values form cannot be read without its names, nor with the wrong number of them.
    expect(() => unpackVars(values)).toThrow(/3 values but its batch names 0 columns/);
    expect(() => unpackVars(values, ['email', 'first_name'])).toThrow(/names 2 columns/);
    // A column named __proto__ stays a variable.
    expect(unpackVars(packValues(['x']), ['__proto__'])).toEqual(JSON.parse('{"__proto__":"x"}'));
  });

  it('checkRecipients gives the summary without writing anything', async () => {
    const check = await checkRecipients(source('email\na@example.com\nA@example.com\nbad\n'));
    expect(check).toMatchObject({ rows: 3, valid: 1, duplicates: 1, invalid: 1 });
  });
});
