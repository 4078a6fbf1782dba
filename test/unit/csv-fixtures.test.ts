/**
 * Export-like recipient files (test/fixtures/csv/README.md says what each imitates): the check result a
 * user sees for each, and the values its rows give the template.
 */
import { createReadStream } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RecipientsFileError } from '../../core/errors.ts';
import { RecipientsScanner, unpackVars } from '../../core/recipients/scanner.ts';

const fixture = (name: string) => createReadStream(new URL(`../fixtures/csv/${name}`, import.meta.url));

async function read(name: string) {
  const scanner = new RecipientsScanner(fixture(name));
  const sent: Record<string, string>[] = [];
  for await (const row of scanner.rows())
    if (row.state === 'ok') sent.push(unpackVars(row.vars, scanner.check.columns));
  return { check: scanner.check, sent };
}

const clean = { blankLines: 0, shortRows: 0, shortRowNumbers: [] };

describe('recipient files as tools export them', () => {
  it('Excel, CSV UTF-8: BOM, CRLF, a quoted multi-line note and a quoted inch mark', async () => {
    const { check, sent } = await read('excel-utf8-bom.csv');
    expect(check).toEqual({
      ...clean,
      columns: ['Email', 'First Name', 'Last Name', 'Company', 'Height', 'Notes', 'Signed up'],
      emailColumn: 'Email',
      delimiter: ',',
      rows: 6,
      valid: 3,
      invalid: 2,
      duplicates: 1,
      duplicateRows: [{ row: 5, sameAs: 2 }],
      problems: [
        { row: 6, problem: '"not an address" has no user@domain form' },
        {
          row: 7,
          problem:
            '"zoë@example.de" has letters that are not ASCII before the @; SES sends only to addresses whose part before the @ is ASCII (it does not support SMTPUTF8)',
        },
      ],
    });
    expect(sent[0]).toEqual({
      Email: 'ada.lovelace@example.com',
      'First Name': 'Ada',
      'Last Name': 'Lovelace',
      Company: 'Analytical Engines, Ltd.',
      Height: `5'6"`,
      Notes: 'Met at the conference.\nFollow up in May.',
      'Signed up': '12/10/2025',
    });
    expect(sent[1]).toMatchObject({ Height: `5'11"`, Notes: 'Said "debugging" first' });
  });

  it('Excel with semicolons (decimal-comma locales), CSV UTF-8: detected, decimal commas kept', async () => {
    const { check, sent } = await read('excel-semicolon-utf8.csv');
    expect(check).toEqual({
      ...clean,
      columns: ['E-Mail', 'Vorname', 'Nachname', 'Betrag', 'Notiz'],
      emailColumn: 'E-Mail',
      delimiter: ';',
      rows: 3,
      valid: 3,
      invalid: 0,
      duplicates: 0,
      duplicateRows: [],
      problems: [],
    });
    expect(sent.map((v) => [v.Vorname, v.Betrag, v.Notiz])).toEqual([
      ['Jörg', '12,50', 'Rechnung; bezahlt'],
      ['Anna', '7,00', ''],
      ['Luc', '1.234,56', 'Il a dit "bonjour"'],
    ]);
  });

  it('Excel with semicolons saved as Windows-1252: refused, saying how to fix it', async () => {
    const error = await read('excel-semicolon-cp1252.csv').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecipientsFileError);
    expect((error as Error).message).toMatch(
      /^The recipients file is not UTF-8 text: line 2 has the byte 0xF6 \(byte 64 of the file\), which is "ö" in Windows-1252 \(Excel's plain "CSV"\)\. Save it as "CSV UTF-8"\.$/,
    );
  });

  it('Google Sheets: no BOM, CRLF, no final newline; an empty address and a duplicate in another case', async () => {
    const { check, sent } = await read('google-sheets.csv');
    expect(check).toEqual({
      ...clean,
      columns: ['email', 'first_name', 'city', 'plan', 'score'],
      emailColumn: 'email',
      delimiter: ',',
      rows: 5,
      valid: 3,
      invalid: 1,
      duplicates: 1,
      duplicateRows: [{ row: 6, sameAs: 2 }],
      problems: [{ row: 5, problem: 'email is empty' }],
    });
    expect(sent.map((v) => [v.city, v.plan, v.score])).toEqual([
      ['Seoul', 'pro', '4.5'],
      ['Beijing, CN', 'free', ''],
      ['São Paulo', 'team "plus"', '3'],
    ]);
  });

  it('Mailchimp audience export: every field quoted, "Email Address", tags with quotes', async () => {
    const { check, sent } = await read('mailchimp-audience.csv');
    expect(check).toMatchObject({
      ...clean,
      emailColumn: 'Email Address',
      delimiter: ',',
      rows: 3,
      valid: 2,
      invalid: 0,
      duplicates: 1,
      problems: [],
    });
    expect(check.columns).toHaveLength(22);
    expect(sent[0]).toMatchObject({
      'Email Address': 'kim@example.com',
      Address: '1 Main St  Springfield  IL  62701  US',
      TAGS: '"VIP","2025 signups"',
      TIMEZONE: 'America/Chicago',
    });
    expect(sent[1]).toMatchObject({ 'Last Name': "O'Brien", NOTES: 'Prefers "plain" text' });
  });

  it('HubSpot contacts export: every field quoted, "Email" after "Record ID"; a contact with no address', async () => {
    const { check, sent } = await read('hubspot-contacts.csv');
    expect(check).toMatchObject({
      ...clean,
      emailColumn: 'Email',
      delimiter: ',',
      rows: 3,
      valid: 2,
      invalid: 1,
      duplicates: 0,
      problems: [{ row: 3, problem: 'email is empty' }],
    });
    expect(sent.map((v) => [v['Record ID'], v['Lifecycle Stage']])).toEqual([
      ['5101', 'Lead'],
      ['5103', 'Customer'],
    ]);
  });

  it('a home-made export without quoting: inch marks, minutes and backslashes exact; the short row named', async () => {
    const { check, sent } = await read('naive-export.csv');
    expect(check).toEqual({
      columns: ['email', 'name', 'height', 'location', 'path'],
      emailColumn: 'email',
      delimiter: ',',
      rows: 3,
      valid: 2,
      invalid: 1,
      duplicates: 0,
      duplicateRows: [],
      blankLines: 0,
      shortRows: 1,
      shortRowNumbers: [4],
      problems: [{ row: 4, problem: 'has 4 fields but the header has 5 (a short row)' }],
    });
    expect(sent).toEqual([
      {
        email: 'ada@example.com',
        name: 'Ada',
        height: `5'6"`,
        location: `37°36'37.8"N`,
        path: 'C:\\Users\\ada',
      },
      {
        email: 'grace@example.com',
        name: 'Grace',
        height: `5'11"`,
        location: `40°42'46"N`,
        path: '\\\\server\\share',
      },
    ]);
  });
});
