/**
 * Generated recipients CSVs for property tests, with two independent oracles for what each row must
 * become:
 * - the model: what the generator meant (the cells, and the state a row must end in), and
 * - csv-parse, configured for sixback's dialect (RFC 4180, a quote inside an unquoted field literal),
 *   as a second reader that shares no code with sixback's.
 *
 * Files mix delimiters (`,` `;` tab: whichever the header uses), LF/CRLF/CR line ends, a BOM or none,
 * quoted and unquoted cells holding quotes, backslashes, delimiters, line breaks, unicode and text that
 * looks like liquid or HTML, blank lines, short and long rows, duplicate and invalid addresses, and cells
 * with text after their closing quote.
 */
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { readCsvRecords } from '../../core/recipients/csv.ts';
import { unpackVars } from '../../core/recipients/scanner.ts';
import { PREPARED_COLUMNS, PreparedRowSchema, type ShortRowAction } from '../../core/schemas.ts';

export type Cell =
  | { form: 'plain'; value: string }
  | { form: 'quoted'; value: string }
  /** `"head"tail`: no agreed meaning, the row must be reported. */
  | { form: 'after-quote'; head: string; tail: string };

export type EmailKind = 'fresh' | 'dup' | 'junk';

export interface GenRecord {
  kind: 'record';
  cells: Cell[];
  email: EmailKind;
  eol: string;
}
export interface GenBlank {
  kind: 'blank';
  eol: string;
}

export interface GeneratedCsv {
  text: string;
  delimiter: string;
  header: string[];
  emailIndex: number;
  lines: (GenRecord | GenBlank)[];
}

const EOLS = ['\n', '\r\n', '\r'] as const;
const DELIMS = [',', ';', '\t'] as const;

/** Pieces that stress a CSV reader or a template engine. */
const TRICKY = [
  '"',
  '""',
  '\\',
  '\\"',
  '\\\\',
  '5\'11"',
  '37°36\'37.8"N',
  '{{ email }}',
  '{% if x %}y{% endif %}',
  '{% include "package.json" %}',
  '<b>bold</b>',
  '<script>alert(1)</script>',
  '&amp;',
  ',',
  ';',
  '\t',
  '\n',
  '\r\n',
  '\r',
  ' ',
  '',
  'é',
  '日本語',
  '🙂',
  '\u00a0',
  '=SUM(A1)',
];

const chunk = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...TRICKY) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 4 }) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9 ]{1,6}$/) },
);
const anyValue = fc.array(chunk, { maxLength: 5 }).map((parts) => parts.join(''));
/** Safe text for the two halves of an after-quote cell: no quote, delimiter or line break. */
const safeText = fc.stringMatching(/^[A-Za-z0-9 \\éß]{0,5}$/);
const headerName = fc
  .stringMatching(/^[A-Za-z_][A-Za-z0-9_ éüß日-]{0,8}$/)
  .map((name) => name.trim())
  .filter((name) => name !== '' && !/^e-?mail/i.test(name));

function cellFor(value: string, delimiter: string, quote: boolean): Cell {
  // Unquoted is only possible for values that an unquoted field can hold.
  const plainable = !value.includes(delimiter) && !/[\r\n]/.test(value) && !value.startsWith('"');
  return plainable && !quote ? { form: 'plain', value } : { form: 'quoted', value };
}

export function cellText(cell: Cell): string {
  if (cell.form === 'plain') return cell.value;
  if (cell.form === 'quoted') return `"${cell.value.replaceAll('"', '""')}"`;
  return `"${cell.head}"${cell.tail}`;
}

/** The value a reader should give for the cell (after-quote cells have none: the row is reported). */
export function cellValue(cell: Cell): string | undefined {
  return cell.form === 'after-quote' ? undefined : cell.value;
}

export const generatedCsv: fc.Arbitrary<GeneratedCsv> = fc
  .record({
    delimiter: fc.constantFrom(...DELIMS),
    others: fc.uniqueArray(headerName, { minLength: 1, maxLength: 4 }),
    emailName: fc.constantFrom('email', 'Email', 'E-Mail', 'email address'),
    emailAt: fc.nat(),
    quoteHeader: fc.boolean(),
    bom: fc.boolean(),
    finalEol: fc.boolean(),
    headerEol: fc.constantFrom(...EOLS),
    lines: fc.array(
      fc.oneof(
        {
          weight: 8,
          arbitrary: fc.record({
            kind: fc.constant('record' as const),
            email: fc.constantFrom<EmailKind>('fresh', 'fresh', 'fresh', 'dup', 'junk'),
            emailSpaces: fc.boolean(),
            values: fc.array(anyValue, { minLength: 6, maxLength: 6 }),
            quotes: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
            /** -1: one field short, +1: one too many, 0 (most): as many as the header. */
            shape: fc.constantFrom(0, 0, 0, 0, 0, 0, -1, -2, 1),
            afterQuoteAt: fc.option(
              fc.tuple(
                fc.nat(),
                safeText,
                safeText.filter((t) => t !== ''),
              ),
              {
                freq: 8,
              },
            ),
            eol: fc.constantFrom(...EOLS),
          }),
        },
        {
          weight: 1,
          arbitrary: fc.record({ kind: fc.constant('blank' as const), eol: fc.constantFrom(...EOLS) }),
        },
      ),
      { minLength: 1, maxLength: 25 },
    ),
  })
  .map((g) => {
    const emailIndex = g.emailAt % (g.others.length + 1);
    const header = [...g.others];
    header.splice(emailIndex, 0, g.emailName);
    const lines: (GenRecord | GenBlank)[] = [];
    const fresh: string[] = [];
    let n = 0;
    for (const line of g.lines) {
      if (line.kind === 'blank') {
        lines.push({ kind: 'blank', eol: line.eol });
        continue;
      }
      let email: string;
      let kind: EmailKind = line.email;
      if (kind === 'dup' && fresh.length > 0) {
        const earlier = fresh[n % fresh.length] as string;
        email = n % 2 ? earlier.toUpperCase() : earlier;
      } else if (kind === 'junk') email = (line.values[5] as string).replaceAll('@', '');
      else {
        kind = 'fresh';
        email = `user${fresh.length}.${n}@example${n % 3}.com`;
        fresh.push(email);
      }
      n++;
      if (line.emailSpaces && kind !== 'junk') email = ` ${email} `;
      const values = header.map((_, i) => (i === emailIndex ? email : (line.values[i] as string)));
      const count = Math.max(1, header.length + line.shape);
      const padded = count > header.length ? [...values, line.values[4] as string] : values.slice(0, count);
      const cells = padded.map((value, i) => cellFor(value, g.delimiter, line.quotes[i] as boolean));
      if (line.afterQuoteAt) {
        const [at, head, tail] = line.afterQuoteAt;
        cells[at % cells.length] = { form: 'after-quote', head, tail };
      }
      lines.push({ kind: 'record', cells, email: kind, eol: line.eol });
    }
    let text = g.bom ? '\uFEFF' : '';
    text += header.map((name) => (g.quoteHeader ? `"${name}"` : name)).join(g.delimiter) + g.headerEol;
    lines.forEach((line, i) => {
      const last = i === lines.length - 1;
      const eol = last && !g.finalEol ? '' : line.eol;
      if (line.kind === 'blank') text += eol;
      else text += line.cells.map(cellText).join(g.delimiter) + eol;
    });
    return { text, delimiter: g.delimiter, header, emailIndex, lines };
  });

/** What a row must become: its state, and for a sent row every template variable's exact value. */
export interface ExpectedRow {
  row: number;
  state: 'ok' | 'invalid' | 'duplicate';
  vars?: Record<string, string>;
}

/**
 * The model's answer for every data row, numbered as sixback numbers them (records that are not blank,
 * the header being row 1). A record of one empty field is a blank line to every reader.
 */
export function expectedRows(csv: GeneratedCsv, shortRows: ShortRowAction): ExpectedRow[] {
  const out: ExpectedRow[] = [];
  const seen = new Set<string>();
  let row = 1;
  for (const line of csv.lines) {
    if (line.kind === 'blank') continue;
    const only = line.cells.length === 1 ? line.cells[0] : undefined;
    if (only && only.form !== 'after-quote' && only.value === '') continue;
    row++;
    const values = line.cells.map(cellValue);
    // Values past the header are lost unless they are empty (trailing delimiters lose nothing).
    const extra = values.slice(csv.header.length);
    if (values.includes(undefined) || extra.some((value) => (value as string).trim() !== '')) {
      out.push({ row, state: 'invalid' });
      continue;
    }
    if (values.length < csv.header.length && shortRows !== 'pad') {
      out.push({ row, state: 'invalid' });
      continue;
    }
    const cells = csv.header.map((_, i) => values[i] ?? '');
    const email = (cells[csv.emailIndex] as string).trim();
    if (line.email === 'junk' || email === '') {
      out.push({ row, state: 'invalid' });
      continue;
    }
    const key = email.toLowerCase();
    if (seen.has(key)) {
      out.push({ row, state: 'duplicate' });
      continue;
    }
    seen.add(key);
    cells[csv.emailIndex] = email;
    const vars: Record<string, string> = {};
    csv.header.forEach((name, i) => {
      vars[name] = cells[i] as string;
    });
    out.push({ row, state: 'ok', vars });
  }
  return out;
}

/** The records csv-parse reads in sixback's dialect, blank lines dropped as sixback drops them. */
export function csvParseRecords(csv: GeneratedCsv): string[][] {
  const records = parse(csv.text, {
    delimiter: csv.delimiter,
    bom: true,
    relax_quotes: true,
    relax_column_count: true,
    record_delimiter: ['\r\n', '\n', '\r'],
    skip_empty_lines: false,
  }) as string[][];
  return records.filter((r) => !(r.length === 1 && r[0] === ''));
}

async function* once(text: string) {
  yield text;
}

/**
 * Reads a prepared file the way the Distributed Map's ItemReader (AWS dialect, header row) and the sender
 * (PreparedRowSchema, unpackVars with the batch's columns) do.
 */
export async function decodePrepared(prepared: string, columns: readonly string[]): Promise<ExpectedRow[]> {
  const rows: ExpectedRow[] = [];
  let header: string[] | undefined;
  for await (const record of readCsvRecords(once(prepared), { dialect: 'aws' })) {
    if (!header) {
      header = record.fields;
      if (header.join() !== PREPARED_COLUMNS.join()) throw new Error(`prepared header ${header.join()}`);
      continue;
    }
    const item = Object.fromEntries(header.map((name, i) => [name, record.fields[i] ?? '']));
    const row = PreparedRowSchema.parse(item);
    rows.push({
      row: row.row,
      state: row.state,
      ...(row.state === 'ok' ? { vars: unpackVars(row.vars, columns) } : {}),
    });
  }
  return rows;
}
