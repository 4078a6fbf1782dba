import { describe, expect, it } from 'vitest';
import { CsvTokenizer, readCsvRecords, UnterminatedQuoteError } from '../../core/recipients/csv.ts';

function parse(text: string, dialect: 'rfc4180' | 'aws' = 'rfc4180', delimiter?: string): string[][] {
  const tokenizer = new CsvTokenizer({ dialect, ...(delimiter ? { delimiter } : {}) });
  return [...tokenizer.push(text), ...tokenizer.end()].map((r) => r.fields);
}

/** Feeds the text one character at a time: records must not depend on where chunks break. */
function parseByChar(text: string, dialect: 'rfc4180' | 'aws' = 'rfc4180'): string[][] {
  const tokenizer = new CsvTokenizer({ dialect });
  const records = [];
  for (const char of text) records.push(...tokenizer.push(char));
  records.push(...tokenizer.end());
  return records.map((r) => r.fields);
}

describe('CsvTokenizer, rfc4180 dialect', () => {
  it('splits fields and records, with or without a final newline', () => {
    expect(parse('a,b\n1,2\n')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(parse('a,b\n1,2')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('treats CRLF as one line break', () => {
    expect(parse('a,b\r\n1,2\r\n')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('keeps delimiters, line breaks and doubled quotes inside quoted fields', () => {
    expect(parse('name,note\n"Kim, Ada","line1\nline2 ""quoted"""\n')).toEqual([
      ['name', 'note'],
      ['Kim, Ada', 'line1\nline2 "quoted"'],
    ]);
  });

  it('keeps backslashes literally', () => {
    expect(parse('path\nC:\\temp\\x\n')).toEqual([['path'], ['C:\\temp\\x']]);
  });

  it('keeps empty fields and reports blank lines as one empty field', () => {
    expect(parse('a,,c\n\n,,\n')).toEqual([['a', '', 'c'], [''], ['', '', '']]);
  });

  it('gives the same records whatever the chunk boundaries', () => {
    const text = 'email,note\r\n"x@example.com","a,""b""\r\nc"\r\ny@example.com,plain\r\n';
    expect(parseByChar(text)).toEqual(parse(text));
    expect(parseByChar(text, 'aws')).toEqual(parse(text, 'aws'));
  });

  it('reports the line each record starts on', () => {
    const tokenizer = new CsvTokenizer({ dialect: 'rfc4180' });
    const records = [...tokenizer.push('h\n"a\nb"\nc\n'), ...tokenizer.end()];
    expect(records.map((r) => r.line)).toEqual([1, 2, 4]);
  });

  it('refuses a quote that is never closed, naming its line', () => {
    const tokenizer = new CsvTokenizer({ dialect: 'rfc4180' });
    // An open quote may still close in a later chunk, so only the end of input can tell.
    expect(tokenizer.push('a\n"open\nstill open\n').map((r) => r.fields)).toEqual([['a']]);
    expect(() => tokenizer.end()).toThrow(new UnterminatedQuoteError(2));
  });
});

describe('CsvTokenizer, aws dialect (Distributed Map ItemReader rules)', () => {
  it('lets a backslash escape a backslash, a quote or the delimiter', () => {
    expect(parse('a\\\\b,c\\"d,e\\,f\n', 'aws')).toEqual([['a\\b', 'c"d', 'e,f']]);
  });

  it('drops a backslash before any other character', () => {
    expect(parse('a\\nb,\\x\n', 'aws')).toEqual([['anb', 'x']]);
  });

  it('applies the same escapes inside quoted fields', () => {
    expect(parse('"a\\"b","c\\\\d"\n', 'aws')).toEqual([['a"b', 'c\\d']]);
  });

  it('uses the configured delimiter', () => {
    expect(parse('a|b\n1|2,3\n', 'aws', '|')).toEqual([
      ['a', 'b'],
      ['1', '2,3'],
    ]);
    expect(parse('a\tb\n1\t2\n', 'aws', '\t')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });
});

describe('readCsvRecords', () => {
  async function* bytes(...chunks: number[][]) {
    for (const chunk of chunks) yield new Uint8Array(chunk);
  }

  it('decodes UTF-8 split across chunks and strips a BOM', async () => {
    // "\uFEFFé,ü\n" with the two-byte é split between chunks.
    const records = [];
    for await (const r of readCsvRecords(bytes([0xef, 0xbb, 0xbf, 0xc3], [0xa9, 0x2c, 0xc3, 0xbc, 0x0a]), {
      dialect: 'rfc4180',
    })) {
      records.push(r.fields);
    }
    expect(records).toEqual([['é', 'ü']]);
  });

  it('refuses bytes that are not UTF-8', async () => {
    const read = async () => {
      for await (const _ of readCsvRecords(bytes([0x61, 0x0a], [0xff, 0xfe, 0x0a]), { dialect: 'rfc4180' })) {
        // consume
      }
    };
    await expect(read()).rejects.toThrow(/not valid UTF-8/);
  });
});
