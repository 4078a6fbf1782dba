/**
 * Reading the user's recipients CSV: every check happens here, in one streaming pass, before anything is
 * sent. The output is the *prepared* file the Distributed Map reads: one line per data row with the
 * row's state decided (ok, invalid with reason, duplicate of an earlier row) and its columns packed into
 * one base64url field. Packing makes the prepared file plain ASCII with no quotes, backslashes, delimiters
 * or line breaks inside fields, so AWS's CSV reader and ours read it identically, whatever the user's data.
 */

import type { RecipientsCheck, RowProblem } from '../campaigns/store.ts';
import { InvalidRowsError, RecipientsFileError } from '../errors.ts';
import { PREPARED_COLUMNS, type PreparedRow, type ShortRowAction } from '../schemas.ts';
import { AddressIndex } from './address-index.ts';
import {
  BinaryContentError,
  type CsvRecord,
  isBlankRecord,
  NotUtf8Error,
  readCsvRecordBatches,
  UnterminatedQuoteError,
} from './csv.ts';
import { checkAddress } from './email-address.ts';

/** A row may not take more than this once packed, so a batch always has room for it. */
export const MAX_ROW_BYTES = 64 * 1024;
/**
 * The column names travel with every batch (BatchContext.columns) beside up to 200 KiB of rows, under Step
 * Functions' 256 KiB, and are stored on the campaign item (DynamoDB's 400 KB): their JSON may take this.
 */
export const MAX_HEADER_BYTES = 64 * 1024;
/** A record longer than this is never read into memory: packed, it could never fit MAX_ROW_BYTES. */
export const MAX_RECORD_CHARS = 1024 * 1024;
const MAX_PROBLEMS = 100;
const EMAIL_HEADER = /^(e-?mail|e-?mail[ _-]?address)$/i;

export interface ScanOptions {
  emailColumn?: string | undefined;
  /** What to do with rows that have fewer fields than the header (schemas.ts SHORT_ROW_ACTIONS). */
  shortRows?: ShortRowAction | undefined;
  /** Called once the header is read, before any row; may throw to stop the scan early. */
  onHeader?: (columns: string[]) => void;
}

const encodeText = (value: string) => encodeURIComponent(value);
export const decodeText = (value: string) => decodeURIComponent(value);
/** The object form of a row's variables (files prepared before the values form; tests build rows with it). */
export const packVars = (vars: Record<string, string>) =>
  Buffer.from(JSON.stringify(vars)).toString('base64url');
/**
 * The values form: a row's values in the header's order, the names sent once with each batch
 * (BatchContext.columns). Half the bytes of the object form, so half the prepared file to write, store,
 * read back and decode.
 */
export const packValues = (values: string[]) => Buffer.from(JSON.stringify(values)).toString('base64url');

/** Sets a template variable as an own property, even one named __proto__ (an assignment would set the
 * object's prototype instead). */
export function setVariable(variables: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__')
    Object.defineProperty(variables, name, { value, enumerable: true, writable: true, configurable: true });
  else variables[name] = value;
}

/** A row's variables from either form; the values form needs the header's column names. */
export function unpackVars(packed: string, columns?: readonly string[]): Record<string, string> {
  if (packed === '') return {};
  const parsed = JSON.parse(Buffer.from(packed, 'base64url').toString('utf8')) as
    | Record<string, string>
    | string[];
  if (!Array.isArray(parsed)) return parsed;
  if (!columns || columns.length !== parsed.length) {
    throw new Error(
      `A prepared row has ${parsed.length} values but its batch names ${columns?.length ?? 0} columns.`,
    );
  }
  const vars: Record<string, string> = {};
  for (let i = 0; i < parsed.length; i++) setVariable(vars, columns[i] as string, parsed[i]);
  return vars;
}

export class RecipientsScanner {
  readonly check: RecipientsCheck & { delimiter: string; shortRows: number; shortRowNumbers: number[] } = {
    columns: [],
    emailColumn: '',
    rows: 0,
    valid: 0,
    invalid: 0,
    duplicates: 0,
    blankLines: 0,
    delimiter: ',',
    shortRows: 0,
    shortRowNumbers: [],
    problems: [],
    duplicateRows: [],
  };

  constructor(
    private readonly source: AsyncIterable<Uint8Array>,
    private readonly options: ScanOptions = {},
  ) {}

  private problem(row: number, problem: string) {
    if (this.check.problems.length < MAX_PROBLEMS) this.check.problems.push({ row, problem });
  }

  /** Yields one prepared row per data row of the user's file. Throws RecipientsFileError on fatal problems. */
  async *rows(): AsyncGenerator<PreparedRow> {
    for await (const rows of this.rowBatches()) yield* rows;
  }

  /**
   * rows(), one array per chunk of the file (about a thousand rows): the same rows and errors, one step of
   * async iteration per chunk instead of per row.
   */
  async *rowBatches(): AsyncGenerator<PreparedRow[]> {
    let header: string[] | undefined;
    let emailIndex = -1;
    const seen = new AddressIndex();
    let recordNumber = 0;
    for await (const records of this.recordBatches()) {
      const rows: PreparedRow[] = [];
      for (const record of records) {
        if (isBlankRecord(record)) {
          this.check.blankLines++;
          continue;
        }
        recordNumber++;
        if (!header) {
          header = this.readHeader(record);
          emailIndex = this.findEmailColumn(header);
          this.options.onHeader?.(header);
          continue;
        }
        // Rows are numbered as a spreadsheet shows them: the header is row 1.
        const row = recordNumber;
        this.check.rows++;
        rows.push(this.prepareRow(record, row, header, emailIndex, seen));
      }
      if (rows.length > 0) yield rows;
    }
    if (!header)
      throw new RecipientsFileError(
        'The recipients file is empty. It needs a header row and one row per recipient.',
      );
    if (this.check.rows === 0) {
      throw new RecipientsFileError(
        `The recipients file has a header (${header.join(', ')}) but no recipient rows.`,
      );
    }
    if (this.check.shortRows > 0 && this.options.shortRows === 'refuse') {
      const listed = this.check.shortRowNumbers;
      throw new RecipientsFileError(
        `${this.check.shortRows} rows have fewer fields than the header (${header.length}): row${listed.length > 1 ? 's' : ''} ${listed.join(', ')}${listed.length < this.check.shortRows ? ', ...' : ''}. ` +
          'Fill in the missing fields, or choose shortRows "skip" (report them, send the rest) or "pad" (send them with the missing values empty).',
        { details: { shortRows: this.check.shortRows, rows: listed } },
      );
    }
  }

  private async *recordBatches(): AsyncGenerator<CsvRecord[]> {
    try {
      yield* readCsvRecordBatches(this.source, {
        dialect: 'rfc4180',
        delimiter: 'auto',
        refuseNul: true,
        maxRecordChars: MAX_RECORD_CHARS,
        onDelimiter: (delimiter) => {
          this.check.delimiter = delimiter;
        },
      });
    } catch (error) {
      if (error instanceof NotUtf8Error) {
        const guess = error.windows1252;
        const byte =
          error.byte === undefined || error.encoding !== 'UTF-8'
            ? `a sequence that is not ${error.encoding} (byte ${error.nearByte} of the file)`
            : `the byte 0x${error.byte.toString(16).toUpperCase()} (byte ${error.nearByte} of the file)`;
        throw new RecipientsFileError(
          `The recipients file is not ${error.encoding} text: line ${error.line ?? '?'} has ${byte}` +
            (guess ? `, which is "${guess}" in Windows-1252 (Excel's plain "CSV")` : '') +
            '. Save it as "CSV UTF-8".',
          {
            cause: error,
            details: { nearByte: error.nearByte, line: error.line ?? null },
          },
        );
      }
      if (error instanceof BinaryContentError) {
        throw new RecipientsFileError(
          `This is not a CSV file: it contains binary data (${error.message}). Export the list as "CSV UTF-8".`,
          { cause: error, details: { line: error.line } },
        );
      }
      if (error instanceof UnterminatedQuoteError) {
        throw new RecipientsFileError(
          `The recipients file is not a valid CSV: ${error.message}. Close the quote or remove the stray quote character.`,
          { cause: error, details: { line: error.line } },
        );
      }
      throw error;
    }
  }

  private readHeader(record: CsvRecord): string[] {
    if (record.problem !== undefined)
      throw new RecipientsFileError(`The header row (line ${record.line}) ${record.problem}.`, {
        details: { line: record.line },
      });
    const header = record.fields.map((name) => name.trim());
    // Spreadsheets export columns that were once touched as trailing empty header cells: no column there.
    // A row with a value under one is still refused (prepareRow), so nothing is dropped unseen.
    while (header.length > 1 && header[header.length - 1] === '') header.pop();
    const bytes = Buffer.byteLength(JSON.stringify(header));
    if (bytes > MAX_HEADER_BYTES) {
      throw new RecipientsFileError(
        `The header row has ${header.length} columns taking ${bytes} bytes; their names may take at most ${MAX_HEADER_BYTES} ` +
          '(they travel with every batch of recipients). Remove the columns the template does not use.',
        { details: { columns: header.length, bytes } },
      );
    }
    const seen = new Set<string>();
    header.forEach((name, index) => {
      if (name === '') throw new RecipientsFileError(`Column ${index + 1} of the header row has no name.`);
      if (seen.has(name)) throw new RecipientsFileError(`The header names the column "${name}" twice.`);
      seen.add(name);
    });
    if (header.length === 1 && /[|]/.test(header[0] as string)) {
      throw new RecipientsFileError(
        `The header row is one column, "${header[0]}": the file seems to use "|" between columns. Save it as CSV with commas (or semicolons or tabs).`,
      );
    }
    this.check.columns = header;
    return header;
  }

  private findEmailColumn(header: string[]): number {
    const wanted = this.options.emailColumn;
    const index =
      wanted === undefined ? header.findIndex((name) => EMAIL_HEADER.test(name)) : header.indexOf(wanted);
    if (index === -1) {
      throw new RecipientsFileError(
        wanted === undefined
          ? `No email column: the header has ${header.map((h) => `"${h}"`).join(', ')}. Name the address column "email", or choose it with emailColumn.`
          : `No column named "${wanted}": the header has ${header.map((h) => `"${h}"`).join(', ')}.`,
        { details: { columns: header } },
      );
    }
    this.check.emailColumn = header[index] as string;
    return index;
  }

  private prepareRow(
    record: CsvRecord,
    row: number,
    header: string[],
    emailIndex: number,
    seen: AddressIndex,
  ): PreparedRow {
    // invalidRow is a method, not a closure made per row: this runs once for every row of the file.
    if (record.problem !== undefined) return this.invalidRow(record, row, emailIndex, record.problem);
    let fields = record.fields;
    let note = '';
    if (fields.length > header.length) {
      // Empty values past the header (trailing delimiters, as spreadsheets write) lose nothing.
      let extra = header.length;
      while (extra < fields.length && (fields[extra] as string).trim() === '') extra++;
      if (extra < fields.length) {
        return this.invalidRow(
          record,
          row,
          emailIndex,
          `has ${fields.length} fields but the header has ${header.length}; the extra values would be lost`,
        );
      }
      fields = fields.slice(0, header.length);
    }
    if (fields.length < header.length) {
      this.check.shortRows++;
      if (this.check.shortRowNumbers.length < MAX_PROBLEMS) this.check.shortRowNumbers.push(row);
      const short = `has ${fields.length} fields but the header has ${header.length}`;
      if (this.options.shortRows !== 'pad')
        return this.invalidRow(record, row, emailIndex, `${short} (a short row)`);
      fields = fields.concat(new Array<string>(header.length - fields.length).fill(''));
      note = `padded: ${short}; the missing values were sent empty`;
    }
    const address = checkAddress(fields[emailIndex] ?? '');
    if (!address.ok) return this.invalidRow(record, row, emailIndex, address.reason);
    const first = seen.firstRow(address.key);
    if (first !== undefined) {
      this.check.duplicates++;
      if (this.check.duplicates <= MAX_PROBLEMS) this.check.duplicateRows?.push({ row, sameAs: first });
      return {
        row,
        state: 'duplicate',
        email: address.address,
        note: `same address as row ${first}`,
        vars: '',
      };
    }
    const values = fields === record.fields ? fields.slice() : fields;
    values[emailIndex] = address.address;
    const packed = packValues(values);
    if (packed.length > MAX_ROW_BYTES) {
      return this.invalidRow(
        record,
        row,
        emailIndex,
        `is ${packed.length} bytes once packed; a row may hold at most ${MAX_ROW_BYTES}`,
      );
    }
    seen.add(address.key, row);
    this.check.valid++;
    if (address.note !== undefined) note = note === '' ? address.note : `${note}; ${address.note}`;
    return { row, state: 'ok', email: address.address, note, vars: packed };
  }

  private invalidRow(record: CsvRecord, row: number, emailIndex: number, reason: string): PreparedRow {
    this.check.invalid++;
    this.problem(row, reason);
    return { row, state: 'invalid', email: (record.fields[emailIndex] ?? '').trim(), note: reason, vars: '' };
  }
}

export const PREPARED_HEADER = `${PREPARED_COLUMNS.join(',')}\n`;

export function preparedLine(row: PreparedRow): string {
  return `${row.row},${row.state},${encodeText(row.email)},${encodeText(row.note)},${row.vars}\n`;
}

/** Runs every check over a file without writing anything (the API's upload check uses this). */
export async function checkRecipients(source: AsyncIterable<Uint8Array>, options: ScanOptions = {}) {
  const scanner = new RecipientsScanner(source, options);
  for await (const _ of scanner.rowBatches()) {
    // Only the summary is wanted.
  }
  return scanner.check;
}

/** Streams the prepared file as text chunks of about 64 KiB. */
export async function* preparedChunks(scanner: RecipientsScanner): AsyncGenerator<string> {
  let chunk = PREPARED_HEADER;
  for await (const rows of scanner.rowBatches()) {
    for (const row of rows) chunk += preparedLine(row);
    if (chunk.length >= 65_536) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk !== '') yield chunk;
}

export type { RowProblem };

/**
 * Row-level problems are fatal only if the user said so (`onInvalidRows: abort`); a file with no sendable
 * row always is. Campaign creation and Prepare both apply it, so a campaign is refused when created
 * rather than failed after it started.
 */
export function assertSendable(check: RecipientsCheck, onInvalidRows: 'skip' | 'abort'): void {
  if (check.valid === 0) {
    throw new RecipientsFileError(
      `None of the ${check.rows} rows can be sent to (${check.invalid} invalid, ${check.duplicates} duplicates).`,
      { details: { problems: check.problems } },
    );
  }
  if (check.invalid > 0 && onInvalidRows === 'abort') {
    throw new InvalidRowsError(
      `${check.invalid} of ${check.rows} rows are invalid and the campaign was set to send nothing in that case. ` +
        `First problem: row ${check.problems[0]?.row}: ${check.problems[0]?.problem}.`,
      { details: { problems: check.problems } },
    );
  }
}
