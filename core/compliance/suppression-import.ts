/**
 * Importing a suppression list from a CSV (another tool's unsubscribes, a bounce export): streamed, so
 * a file of millions of rows needs no more memory than one write batch. The address column is the one
 * named "email" (any case), or the first column of a file whose first row is already an address.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchPut } from '../aws/dynamo.ts';
import { RecipientsFileError } from '../errors.ts';
import { NotUtf8Error, readCsvRecords, UnterminatedQuoteError } from '../recipients/csv.ts';
import { checkAddress } from '../recipients/email-address.ts';
import type { SuppressionEntry, SuppressionReason } from './suppression.ts';

export interface SuppressionImportResult {
  rows: number;
  added: number;
  /** Rows whose address did not validate (the first 100; `invalid` counts them all). */
  problems: { line: number; problem: string }[];
  invalid: number;
}

export interface SuppressionImportOptions {
  reason?: SuppressionReason;
  /** Recorded on every entry, e.g. "import:unsubscribes-2025.csv". */
  source: string;
  at: Date;
  /** Rows read so far (a job's progress), called every 1,000 rows. */
  onProgress?: (rows: number) => void;
}

/** Where imported entries go; the DynamoDB table by default, a stand-in in tests. */
export type SuppressionWriter = (entries: SuppressionEntry[]) => Promise<void>;

export function dynamoSuppressionWriter(ddb: DynamoDBDocumentClient, table: string): SuppressionWriter {
  return (entries) => batchPut(ddb, table, entries as unknown as Record<string, unknown>[]);
}

const MAX_PROBLEMS = 100;
/** DynamoDB BatchWrite takes 25 items, and refuses a batch that names the same key twice. */
const BATCH = 25;

export async function importSuppressionCsv(
  source: AsyncIterable<Uint8Array | string>,
  write: SuppressionWriter,
  options: SuppressionImportOptions,
): Promise<SuppressionImportResult> {
  const result: SuppressionImportResult = { rows: 0, added: 0, problems: [], invalid: 0 };
  const at = options.at.toISOString();
  const reason = options.reason ?? 'manual';
  let column: number | undefined;
  let pending = new Map<string, SuppressionEntry>();
  const flush = async () => {
    if (pending.size === 0) return;
    const entries = [...pending.values()];
    pending = new Map();
    await write(entries);
    result.added += entries.length;
  };
  try {
    for await (const record of readCsvRecords(source, { dialect: 'rfc4180' })) {
      const fields = record.fields.map((f, i) =>
        record.line === 1 && i === 0 ? f.replace(/^\uFEFF/, '') : f,
      );
      if (fields.length === 1 && fields[0]?.trim() === '') continue;
      if (column === undefined) {
        const named = fields.findIndex((f) => f.trim().toLowerCase() === 'email');
        if (named >= 0) {
          column = named;
          continue;
        }
        if (checkAddress(fields[0] ?? '').ok) column = 0;
        else {
          throw new RecipientsFileError(
            `No email column: the first row is ${fields.map((f) => `"${f}"`).join(', ')}. ` +
              'Name the address column "email", or give a file with one address per line.',
          );
        }
      }
      result.rows++;
      if (options.onProgress && result.rows % 1000 === 0) options.onProgress(result.rows);
      const check = checkAddress(fields[column] ?? '');
      if (!check.ok) {
        result.invalid++;
        if (result.problems.length < MAX_PROBLEMS)
          result.problems.push({ line: record.line, problem: check.reason });
        continue;
      }
      if (!pending.has(check.key)) {
        pending.set(check.key, { key: check.key, reason, source: options.source, at });
        if (pending.size >= BATCH) await flush();
      }
    }
  } catch (error) {
    if (error instanceof NotUtf8Error || error instanceof UnterminatedQuoteError) {
      throw new RecipientsFileError(`The suppression file cannot be read: ${error.message}.`, {
        cause: error,
      });
    }
    throw error;
  }
  await flush();
  return result;
}
