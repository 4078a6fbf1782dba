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
  private readonly maxRecordChars: number;
  /** Characters of the current record's fields already pushed (with one for each delimiter). */
  private recordChars = 0;
  /** The current record outgrew maxRecordChars: its values are dropped as they are read. */
  private overflowed = false;

  constructor(options: {
    dialect: CsvDialect;
    delimiter?: string;
    /** The physical line the text starts on (2 after a `sep=` line that was not fed). */
    firstLine?: number;
    /**
     * A record longer than this is kept as a record with no fields and a `problem`, its values dropped as
     * they are read: a row that can never be sent must not hold a whole file in memory (an unclosed quote
     * or a file with no line breaks).
     */
    maxRecordChars?: number;
  }) {
    const delimiter = options.delimiter ?? ',';
    if (delimiter.length !== 1) throw new Error('the CSV delimiter must be one character');
    this.delimiter = delimiter.charCodeAt(0);
    this.backslashEscapes = options.dialect === 'aws';
    this.quoteOnlyAtStart = options.dialect === 'rfc4180';
    this.line = options.firstLine ?? 1;
    this.recordLine = this.line;
    this.maxRecordChars = options.maxRecordChars ?? Number.POSITIVE_INFINITY;
  }

  /** The physical line (1-based) the tokenizer has read up to. */
  get currentLine(): number {
    return this.line;
  }

  private pushField(value: string) {
    this.recordChars += value.length + 1;
    if (this.recordChars > this.maxRecordChars) this.overflow();
    else this.fields.push(value);
  }

  private overflow() {
    if (!this.overflowed) {
      this.overflowed = true;
      this.recordProblem = `is longer than ${this.maxRecordChars} characters (a very long value, or a quote that is never closed); it was not read`;
    }
    this.fields = [];
    this.field = '';
  }

  private emit(out: CsvRecord[]) {
    const record: CsvRecord = { fields: this.fields, line: this.recordLine };
    if (this.recordProblem !== undefined) record.problem = this.recordProblem;
    out.push(record);
    this.fields = [];
    this.recordProblem = undefined;
    this.recordChars = 0;
    this.overflowed = false;
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
        this.pushField(this.field + chunk.slice(start, i));
        this.field = '';
        this.fieldTouched = true;
        this.quotedField = false;
        start = i + 1;
      } else if (c === LF || c === CR) {
        this.pushField(this.field + chunk.slice(start, i));
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
    if (this.recordChars + this.field.length > this.maxRecordChars) this.overflow();
    return out;
  }

  /** Ends the input; returns the last record if the file did not end with a newline. */
  end(out: CsvRecord[] = []): CsvRecord[] {
    if (this.quotePending) {
      this.quotePending = false;
      this.inQuotes = false;
    }
    if (this.inQuotes) throw new UnterminatedQuoteError(this.recordLine);
    if (this.fieldTouched || this.field !== '' || this.fields.length > 0 || this.overflowed) {
      this.pushField(this.field);
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
  /**
   * One character, or `auto` to detect it from the first line (see detectDelimiter). Default `,`. With
   * `auto`, a first line `sep=;` (Excel's way of naming the delimiter) names it and is not a record.
   */
  delimiter?: string;
  /** Called once with the delimiter in use, before the first record. */
  onDelimiter?: (delimiter: string) => void;
  /** Refuse a NUL character anywhere (`BinaryContentError`): no text file holds one. */
  refuseNul?: boolean;
  /** See CsvTokenizer's maxRecordChars. */
  maxRecordChars?: number;
}

/** Excel's delimiter line: `sep=;` (some tools quote it), read with `delimiter: 'auto'`. */
const SEP_LINE = /^"?sep=([^"\r\n])"?$/i;

/** The encoding a file's first bytes name by their byte order mark; UTF-8 without one. */
function encodingOf(first: Uint8Array): 'utf-8' | 'utf-16le' | 'utf-16be' {
  if (first[0] === 0xff && first[1] === 0xfe) return 'utf-16le';
  if (first[0] === 0xfe && first[1] === 0xff) return 'utf-16be';
  return 'utf-8';
}

/**
 * Decodes the bytes strictly (UTF-8, or UTF-16 when the file starts with a UTF-16 byte order mark, as
 * Excel's "Unicode Text" does) and yields CSV records. Bytes that are not valid in that encoding throw
 * `NotUtf8Error` with the byte offset and the line. A BOM is dropped.
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
  let decoder: TextDecoder | undefined;
  let encoding: 'utf-8' | 'utf-16le' | 'utf-16be' = 'utf-8';
  let tokenizer: CsvTokenizer | undefined;
  /** Text held back until the first line is complete, when the delimiter is to be detected. */
  let head = '';
  const start = (firstLine: string, lineNumber: number) => {
    const delimiter = options.delimiter === 'auto' ? detectDelimiter(firstLine) : (options.delimiter ?? ',');
    options.onDelimiter?.(delimiter);
    return new CsvTokenizer({
      dialect: options.dialect,
      delimiter,
      firstLine: lineNumber,
      ...(options.maxRecordChars !== undefined ? { maxRecordChars: options.maxRecordChars } : {}),
    });
  };
  /** Starts the tokenizer on `text`, which holds the whole first line (or the whole file); returns what
   * remains to be read, without a `sep=` line. */
  const begin = (text: string): string => {
    const eol = text.search(/[\r\n]/);
    const firstLine = eol === -1 ? text : text.slice(0, eol);
    const sep = options.delimiter === 'auto' ? SEP_LINE.exec(firstLine) : null;
    if (sep) {
      const delimiter = sep[1] as string;
      options.onDelimiter?.(delimiter);
      tokenizer = new CsvTokenizer({
        dialect: options.dialect,
        delimiter,
        firstLine: 2,
        ...(options.maxRecordChars !== undefined ? { maxRecordChars: options.maxRecordChars } : {}),
      });
      if (eol === -1) return '';
      return text.slice(text.startsWith('\r\n', eol) ? eol + 2 : eol + 1);
    }
    tokenizer = start(firstLine, 1);
    return text;
  };
  let offset = 0;
  // The incomplete sequence the decoder carries over from the previous chunk (at most 3 bytes).
  let carried: Uint8Array = new Uint8Array(0);
  const feed = (text: string, batch: CsvRecord[]) => {
    if (!tokenizer) {
      head += text;
      if (head.search(/[\r\n]/) === -1) return;
      text = begin(head);
      head = '';
    }
    (tokenizer as CsvTokenizer).push(text, batch);
  };
  /** The line reached once `text` (the text decoded before a problem) is read. */
  const lineAfter = (text: string): number => {
    feed(text, []);
    return tokenizer ? tokenizer.currentLine : 1;
  };
  const refuseNul = (text: string) => {
    const nul = text.indexOf('\0');
    if (nul !== -1) throw new BinaryContentError(lineAfter(text.slice(0, nul)));
  };
  /** The first bytes, held until there are two: enough to see a UTF-16 byte order mark. */
  let sniffed: Uint8Array = new Uint8Array(0);
  const openDecoder = (first: Uint8Array) => {
    encoding = encodingOf(first);
    return new TextDecoder(encoding, { fatal: true, ignoreBOM: false });
  };
  for await (const piece of source) {
    let text: string;
    let chunk = piece;
    if (typeof chunk === 'string') text = chunk;
    else {
      if (!decoder) {
        sniffed = concatBytes(sniffed, chunk);
        if (sniffed.byteLength < 2) continue;
        chunk = sniffed;
        decoder = openDecoder(chunk);
      }
      if (options.refuseNul && encoding === 'utf-8') {
        // Before decoding: a binary file (an image, a spreadsheet's own format) is named as binary, not as
        // text in the wrong encoding. UTF-16 text has zero bytes of its own: checked once decoded.
        const nul = chunk.indexOf(0);
        if (nul !== -1) {
          const before = new TextDecoder('utf-8', { ignoreBOM: offset > 0 }).decode(
            concatBytes(carried, chunk.subarray(0, nul)),
          );
          throw new BinaryContentError(lineAfter(before));
        }
      }
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch (cause) {
        const bytes = concatBytes(carried, chunk);
        const at = encoding === 'utf-8' ? firstInvalidByte(bytes) : firstInvalidUtf16(bytes, encoding);
        // The text before the bad byte, to say which line it is on (carried bytes start that text).
        const before = new TextDecoder(encoding, { ignoreBOM: offset > 0 }).decode(bytes.subarray(0, at));
        throw new NotUtf8Error(offset - carried.length + at, cause, {
          line: lineAfter(before),
          byte: bytes[at],
          encoding,
        });
      }
      offset += chunk.byteLength;
      carried =
        encoding === 'utf-8'
          ? incompleteTail(chunk.length >= 3 ? chunk.subarray(-3) : concatBytes(carried, chunk))
          : new Uint8Array(0);
    }
    if (options.refuseNul && (encoding !== 'utf-8' || typeof piece === 'string')) refuseNul(text);
    const batch: CsvRecord[] = [];
    feed(text, batch);
    if (batch.length > 0) yield batch;
  }
  let tail = '';
  try {
    // A file of one byte never reached the decoder above.
    if (!decoder && sniffed.byteLength > 0) {
      decoder = openDecoder(sniffed);
      tail = decoder.decode(sniffed, { stream: true });
    }
    tail += decoder ? decoder.decode() : '';
  } catch (cause) {
    // Only a sequence cut off by the end of the file fails here: it starts where the carried bytes do.
    throw new NotUtf8Error(offset - carried.length, cause, {
      line: lineAfter(''),
      byte: carried[0] ?? sniffed[0],
      encoding,
    });
  }
  const batch: CsvRecord[] = [];
  if (tail) {
    if (options.refuseNul) refuseNul(tail);
    feed(tail, batch);
  }
  const rest = tokenizer ? head : begin(head);
  if (rest !== '') (tokenizer as unknown as CsvTokenizer).push(rest, batch);
  (tokenizer as unknown as CsvTokenizer).end(batch);
  if (batch.length > 0) yield batch;
}

/** Where a UTF-16 decoder failed: the first unpaired surrogate, or an odd last byte. */
function firstInvalidUtf16(bytes: Uint8Array, encoding: 'utf-16le' | 'utf-16be'): number {
  const unit = (i: number) =>
    encoding === 'utf-16le'
      ? (bytes[i] as number) | ((bytes[i + 1] as number) << 8)
      : ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
  let i = 0;
  for (; i + 1 < bytes.length; i += 2) {
    const u = unit(i);
    if (u >= 0xd800 && u <= 0xdbff) {
      if (i + 3 < bytes.length && unit(i + 2) >= 0xdc00 && unit(i + 2) <= 0xdfff) {
        i += 2;
        continue;
      }
      return i;
    }
    if (u >= 0xdc00 && u <= 0xdfff) return i;
  }
  return i;
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

/** Bytes that are not valid text in the file's encoding (UTF-8 unless a UTF-16 byte order mark says so). */
export class NotUtf8Error extends Error {
  readonly line: number | undefined;
  readonly byte: number | undefined;
  readonly encoding: string;
  constructor(
    readonly nearByte: number,
    cause: unknown,
    where: { line?: number; byte?: number | undefined; encoding?: string } = {},
  ) {
    const encoding = where.encoding === undefined || where.encoding === 'utf-8' ? 'UTF-8' : 'UTF-16';
    const line = where.line === undefined ? '' : ` on line ${where.line}`;
    super(`the file is not valid ${encoding}${line} (near byte ${nearByte})`, { cause });
    this.name = 'NotUtf8Error';
    this.line = where.line;
    this.byte = where.byte;
    this.encoding = encoding;
  }

  /** What the byte would be in Windows-1252 (Excel's plain "CSV" on Windows), when it is a letter there. */
  get windows1252(): string | undefined {
    if (this.encoding !== 'UTF-8' || this.byte === undefined || this.byte < 0x80) return undefined;
    const char = new TextDecoder('windows-1252').decode(Uint8Array.of(this.byte));
    return /\p{L}|\p{S}|\p{P}/u.test(char) ? char : undefined;
  }
}

/** A NUL character: binary content, or a UTF-16 file without its byte order mark. */
export class BinaryContentError extends Error {
  constructor(readonly line: number) {
    super(`a zero byte (NUL) on line ${line}`);
    this.name = 'BinaryContentError';
  }
}
