/**
 * A streaming CSV tokenizer with two dialects.
 *
 * - `rfc4180`: what spreadsheets write (Excel, Google Sheets, LibreOffice, mail-tool exports), and the one
 *   dialect of the user's recipients file. Quotes are optional; a field that *starts* with a quote is
 *   quoted and may hold delimiters and line breaks, `""` inside it being one quote; backslash is an
 *   ordinary character. A quote inside an unquoted field (`5'11"`) is an ordinary character too, as a
 *   spreadsheet shows it: it never opens a quoted section, so it cannot swallow the next row. Text
 *   after a closing quote (`"Bob" Smith`) has no agreed meaning: the record keeps it but carries a
 *   `problem`, so the row is reported instead of sent with a guessed value.
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
  /** Why the record cannot be trusted as read (rfc4180 only: text after a closing quote). */
  problem?: string;
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
  private readonly quoteOnlyAtStart: boolean;
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
  /** rfc4180: the current field had a quoted section, so a later quote is literal, not an opening. */
  private quotedField = false;
  private recordProblem: string | undefined;

  constructor(options: { dialect: CsvDialect; delimiter?: string }) {
    const delimiter = options.delimiter ?? ',';
    if (delimiter.length !== 1) throw new Error('the CSV delimiter must be one character');
    this.delimiter = delimiter.charCodeAt(0);
    this.backslashEscapes = options.dialect === 'aws';
    this.quoteOnlyAtStart = options.dialect === 'rfc4180';
  }

  private emit(out: CsvRecord[]) {
    const record: CsvRecord = { fields: this.fields, line: this.recordLine };
    if (this.recordProblem !== undefined) record.problem = this.recordProblem;
    out.push(record);
    this.fields = [];
    this.recordProblem = undefined;
  }

  /** Feeds a chunk of text; returns the records it completed. */
  push(chunk: string, out: CsvRecord[] = []): CsvRecord[] {
    const n = chunk.length;
    const delimiter = this.delimiter;
    let start = 0; // start of the pending plain run in `chunk`
    for (let i = 0; i < n; i++) {
      if (!this.inQuotes && !this.escapePending && !this.crPending && !this.quotePending) {
        // Outside quotes with nothing pending, most characters mean nothing: skip them in a tight loop to
        // the next one that may (a control character, space, !, the quote, a backslash, the delimiter),
        // which the steps below handle as before.
        while (i < n) {
          const d = chunk.charCodeAt(i);
          if (d <= QUOTE || d === BACKSLASH || d === delimiter) break;
          i++;
        }
        if (i === n) break;
      }
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
        if (this.quoteOnlyAtStart && c !== delimiter && c !== LF && c !== CR) {
          this.recordProblem ??= `column ${this.fields.length + 1} has text after its closing quote; quote the whole value and double the quotes inside it ("" for ")`;
        }
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
      if (c === delimiter) {
        this.fields.push(this.field + chunk.slice(start, i));
        this.field = '';
        this.fieldTouched = true;
        this.quotedField = false;
        start = i + 1;
      } else if (c === LF || c === CR) {
        this.fields.push(this.field + chunk.slice(start, i));
        this.field = '';
        this.emit(out);
        this.fieldTouched = false;
        this.quotedField = false;
        this.line++;
        this.recordLine = this.line;
        if (c === CR) this.crPending = true;
        start = i + 1;
      } else if (c === QUOTE) {
        // rfc4180: only a quote at the very start of a field opens a quoted section; anywhere else it is
        // part of the value. aws: a quote opens a quoted section wherever it appears.
        if (this.quoteOnlyAtStart && (this.quotedField || this.field !== '' || i !== start)) continue;
        this.field += chunk.slice(start, i);
        this.inQuotes = true;
        this.quotedField = true;
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
      this.emit(out);
    }
    this.fields = [];
    this.quotedField = false;
    this.field = '';
    this.fieldTouched = false;
    return out;
  }
}

/** True for a record that came from an empty line. */
export function isBlankRecord(record: CsvRecord): boolean {
  return record.fields.length === 1 && record.fields[0] === '';
}

/** The delimiters `delimiter: 'auto'` chooses from: what spreadsheets write in one locale or another. */
export const DETECTED_DELIMITERS = [',', ';', '\t'] as const;

/**
 * The delimiter of a file from its first line: whichever of `,` `;` and tab occurs most often outside
 * quotes (a comma on a tie or when none does). Excel writes `;` where the decimal separator is a comma
 * (most of Europe), so a header like `E-Mail;Vorname` is read as two columns, not as one.
 */
export function detectDelimiter(firstLine: string): string {
  const counts = new Map<string, number>(DETECTED_DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const c of firstLine) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && counts.has(c)) counts.set(c, (counts.get(c) as number) + 1);
  }
  let best = ',';
  for (const [d, n] of counts) if (n > (counts.get(best) as number)) best = d;
  return best;
}

export interface ReadCsvOptions {
  dialect: CsvDialect;
  /** One character, or `auto` to detect it from the first line (see detectDelimiter). Default `,`. */
  delimiter?: string;
  /** Called once with the delimiter in use, before the first record. */
  onDelimiter?: (delimiter: string) => void;
}

/**
 * Decodes UTF-8 bytes strictly and yields CSV records. Invalid UTF-8 throws `NotUtf8Error` with the byte
 * offset of the chunk where it was found. A BOM is dropped.
 */
export async function* readCsvRecords(
  source: AsyncIterable<Uint8Array | string>,
  options: ReadCsvOptions,
): AsyncGenerator<CsvRecord> {
  for await (const records of readCsvRecordBatches(source, options)) yield* records;
}

/**
 * readCsvRecords, one array of records per chunk of input: the same records in the same order, with the
 * same errors at the same points, but one step of the async iteration per chunk (about a thousand rows of
 * 64 KiB) instead of per record, which cost more than reading the record (a million-row file went through
 * several million awaits).
 */
export async function* readCsvRecordBatches(
  source: AsyncIterable<Uint8Array | string>,
  options: ReadCsvOptions,
): AsyncGenerator<CsvRecord[]> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let tokenizer: CsvTokenizer | undefined;
  /** Text held back until the first line is complete, when the delimiter is to be detected. */
  let head = '';
  const start = (firstLine: string) => {
    const delimiter = options.delimiter === 'auto' ? detectDelimiter(firstLine) : (options.delimiter ?? ',');
    options.onDelimiter?.(delimiter);
    return new CsvTokenizer({ dialect: options.dialect, delimiter });
  };
  let offset = 0;
  // The incomplete sequence the decoder carries over from the previous chunk (at most 3 bytes).
  let carried: Uint8Array = new Uint8Array(0);
  const feed = (text: string, batch: CsvRecord[]) => {
    if (!tokenizer) {
      head += text;
      const eol = head.search(/[\r\n]/);
      if (eol === -1) return;
      tokenizer = start(head.slice(0, eol));
      text = head;
      head = '';
    }
    tokenizer.push(text, batch);
  };
  for await (const chunk of source) {
    let text: string;
    if (typeof chunk === 'string') text = chunk;
    else {
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch (cause) {
        throw new NotUtf8Error(
          offset - carried.length + firstInvalidByte(concatBytes(carried, chunk)),
          cause,
        );
      }
      offset += chunk.byteLength;
      carried = incompleteTail(chunk.length >= 3 ? chunk.subarray(-3) : concatBytes(carried, chunk));
    }
    const batch: CsvRecord[] = [];
    feed(text, batch);
    if (batch.length > 0) yield batch;
  }
  let tail: string;
  try {
    tail = decoder.decode();
  } catch (cause) {
    // Only a sequence cut off by the end of the file fails here: it starts where the carried bytes do.
    throw new NotUtf8Error(offset - carried.length, cause);
  }
  const batch: CsvRecord[] = [];
  if (tail) feed(tail, batch);
  tokenizer ??= start(head);
  if (head !== '') tokenizer.push(head, batch);
  tokenizer.end(batch);
  if (batch.length > 0) yield batch;
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Bytes a UTF-8 sequence has, from its lead byte (0 for a byte that cannot lead one). */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xf0) return 4;
  if (lead >= 0xe0) return 3;
  if (lead >= 0xc0) return 2;
  return 0;
}

/** The trailing bytes of `bytes` that start a UTF-8 sequence not finished within it. */
function incompleteTail(bytes: Uint8Array): Uint8Array {
  for (let i = bytes.length - 1; i >= Math.max(0, bytes.length - 3); i--) {
    const length = sequenceLength(bytes[i] as number);
    if (length === 0) continue;
    return i + length > bytes.length ? bytes.slice(i) : new Uint8Array(0);
  }
  return new Uint8Array(0);
}

/**
 * Where the first invalid UTF-8 in `bytes` starts (only called once decoding failed): the shortest prefix
 * a strict decoder refuses, then back to the start of the sequence that byte broke off, if any.
 */
function firstInvalidByte(bytes: Uint8Array): number {
  let low = 1;
  let high = bytes.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
      low = mid + 1;
    } catch {
      high = mid;
    }
  }
  const at = low - 1;
  for (let lead = at - 1; lead >= Math.max(0, at - 3); lead--) {
    const length = sequenceLength(bytes[lead] as number);
    if (length === 0) continue;
    // A lead byte whose sequence should have reached `at` or beyond: the sequence is what is broken.
    return length > 1 && lead + length > at ? lead : at;
  }
  return at;
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
