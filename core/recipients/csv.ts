/**
 * A streaming CSV tokenizer with two dialects.
 *
 * - `rfc4180`: what spreadsheets write. Used to read the user's recipients file. Quotes are optional, a
 *   quoted field may hold delimiters and line breaks, `""` inside quotes is one quote, backslash is literal.
 * - `aws`: the rules AWS documents for a Distributed Map ItemReader over CSV. Used by the local adapter so
 *   that it reads files the way Step Functions does: as above, plus a backslash escapes a backslash, a
 *   double quote or the delimiter, and a backslash before any other character is silently dropped.
 *
 * Both end records at LF or CRLF. Records come out with the line they started on (1-based), so problems
 * can be reported as a person counts them. The tokenizer keeps only the record being built, never the file.
 */

export type CsvDialect = 'rfc4180' | 'aws';

export interface CsvRecord {
  fields: string[];
  /** 1-based physical line on which the record starts. */
  line: number;
}

export const DELIMITERS = { COMMA: ',', PIPE: '|', SEMICOLON: ';', SPACE: ' ', TAB: '\t' } as const;
export type DelimiterName = keyof typeof DELIMITERS;

export class UnterminatedQuoteError extends Error {
  constructor(readonly line: number) {
    super(`a quoted field that starts on line ${line} is never closed`);
    this.name = 'UnterminatedQuoteError';
  }
}

const QUOTE = 34;
const BACKSLASH = 92;
const LF = 10;
const CR = 13;

export class CsvTokenizer {
  private readonly delimiter: number;
  private readonly backslashEscapes: boolean;
  private fields: string[] = [];
  private field = '';
  private inQuotes = false;
  /** Just saw a quote inside a quoted field: the next character decides whether it closes the field. */
  private quotePending = false;
  private escapePending = false;
  private crPending = false;
  private line = 1;
  private recordLine = 1;
  private fieldTouched = false;

  constructor(options: { dialect: CsvDialect; delimiter?: string }) {
    const delimiter = options.delimiter ?? ',';
    if (delimiter.length !== 1) throw new Error('the CSV delimiter must be one character');
    this.delimiter = delimiter.charCodeAt(0);
    this.backslashEscapes = options.dialect === 'aws';
  }

  /** Feeds a chunk of text; returns the records it completed. */
  push(chunk: string, out: CsvRecord[] = []): CsvRecord[] {
    const n = chunk.length;
    let start = 0; // start of the pending plain run in `chunk`
    for (let i = 0; i < n; i++) {
      const c = chunk.charCodeAt(i);
      if (this.escapePending) {
        this.escapePending = false;
        // Escaped specials are kept; any other escaped character is kept and its backslash dropped.
        start = i;
        continue;
      }
      if (this.crPending) {
        this.crPending = false;
        if (c === LF) {
          start = i + 1;
          continue;
        }
      }
      if (this.quotePending) {
        this.quotePending = false;
        if (c === QUOTE) {
          // `""` inside quotes: keep one quote, stay quoted.
          this.field += '"';
          start = i + 1;
          continue;
        }
        this.inQuotes = false;
      }
      if (this.inQuotes) {
        if (c === QUOTE) {
          this.field += chunk.slice(start, i);
          this.quotePending = true;
          start = i + 1;
        } else if (c === BACKSLASH && this.backslashEscapes) {
          this.field += chunk.slice(start, i);
          this.escapePending = true;
          start = i + 1;
        } else if (c === LF) {
          this.line++;
        }
        continue;
      }
      if (c === this.delimiter) {
        this.fields.push(this.field + chunk.slice(start, i));
        this.field = '';
        this.fieldTouched = true;
        start = i + 1;
      } else if (c === LF || c === CR) {
        this.fields.push(this.field + chunk.slice(start, i));
        this.field = '';
        out.push({ fields: this.fields, line: this.recordLine });
        this.fields = [];
        this.fieldTouched = false;
        this.line++;
        this.recordLine = this.line;
        if (c === CR) this.crPending = true;
        start = i + 1;
      } else if (c === QUOTE) {
        this.field += chunk.slice(start, i);
        // A quote opens a quoted section wherever it appears; most files only put it at a field's start.
        this.inQuotes = true;
        this.fieldTouched = true;
        start = i + 1;
      } else if (c === BACKSLASH && this.backslashEscapes) {
        this.field += chunk.slice(start, i);
        this.escapePending = true;
        start = i + 1;
      }
    }
    if (start < n) {
      this.field += chunk.slice(start);
      this.fieldTouched = true;
    }
    return out;
  }

  /** Ends the input; returns the last record if the file did not end with a newline. */
  end(out: CsvRecord[] = []): CsvRecord[] {
    if (this.quotePending) {
      this.quotePending = false;
      this.inQuotes = false;
    }
    if (this.inQuotes) throw new UnterminatedQuoteError(this.recordLine);
    if (this.fieldTouched || this.field !== '' || this.fields.length > 0) {
      this.fields.push(this.field);
      out.push({ fields: this.fields, line: this.recordLine });
    }
    this.fields = [];
    this.field = '';
    this.fieldTouched = false;
    return out;
  }
}

/** True for a record that came from an empty line. */
export function isBlankRecord(record: CsvRecord): boolean {
  return record.fields.length === 1 && record.fields[0] === '';
}

/**
 * Decodes UTF-8 bytes strictly and yields CSV records. Invalid UTF-8 throws `NotUtf8Error` with the byte
 * offset of the chunk where it was found.
 */
export async function* readCsvRecords(
  source: AsyncIterable<Uint8Array | string>,
  options: { dialect: CsvDialect; delimiter?: string },
): AsyncGenerator<CsvRecord> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  const tokenizer = new CsvTokenizer(options);
  let offset = 0;
  const batch: CsvRecord[] = [];
  for await (const chunk of source) {
    let text: string;
    if (typeof chunk === 'string') text = chunk;
    else {
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch (cause) {
        throw new NotUtf8Error(offset, cause);
      }
      offset += chunk.byteLength;
    }
    batch.length = 0;
    tokenizer.push(text, batch);
    for (const record of batch) yield record;
  }
  let tail: string;
  try {
    tail = decoder.decode();
  } catch (cause) {
    throw new NotUtf8Error(offset, cause);
  }
  batch.length = 0;
  if (tail) tokenizer.push(tail, batch);
  tokenizer.end(batch);
  for (const record of batch) yield record;
}

export class NotUtf8Error extends Error {
  constructor(
    readonly nearByte: number,
    cause: unknown,
  ) {
    super(`the file is not valid UTF-8 (near byte ${nearByte})`, { cause });
    this.name = 'NotUtf8Error';
  }
}

/** Quotes a field for writing when it needs it (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
