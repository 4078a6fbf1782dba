/**
 * The Distributed Map adapter. aws-local-stepfunctions accepts a distributed Map's fields but ignores
 * them, so the local engine runs each Distributed Map state through this adapter instead, which follows
 * what AWS documents:
 *
 * - ItemReader (s3:getObject, CSV only): the object is streamed, never loaded whole; header from the first
 *   row (FIRST_ROW) or CSVHeaders (GIVEN); CSVDelimiter; every value a string; a row with fewer fields
 *   than the header gets empty strings and extra fields are dropped; quoting and backslash rules as in
 *   core/recipients/csv.ts (`aws` dialect); MaxItems. Blank lines are skipped (AWS does not document them; the
 *   prepared files sixback writes never contain one).
 * - ItemSelector with `$` (the state input) and `$$.Map.Item.Index` / `$$.Map.Item.Value`.
 * - ItemBatcher: MaxItemsPerBatch, MaxInputBytesPerBatch (and their Path twins), BatchInput; a child gets
 *   `{"BatchInput": ..., "Items": [...]}`; a batch is closed before it would exceed either bound, the byte
 *   bound counting the Items array (BatchInput comes on top, within the child's 256 KiB input).
 * - MaxConcurrency(Path): children in flight at most; reading pauses while the limit is reached.
 * - ToleratedFailureCount / ToleratedFailurePercentage (and Paths): a failed child counts all its items;
 *   past the threshold no new child starts, running ones finish, and the state fails with
 *   States.ExceedToleratedFailureThreshold. With no tolerance set, the first failure fails the Map.
 * - ResultWriter (s3:putObject): `<Prefix>/<MapRunId>/manifest.json` plus SUCCEEDED_n / FAILED_n files,
 *   WriterConfig OutputType JSON|JSONL and Transformation NONE|COMPACT|FLATTEN; the state's output is then
 *   `{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}`. Without ResultWriter, the array of outputs.
 *
 * Any other field, reader or resource makes the adapter fail loudly (UnsupportedAslError) instead of
 * quietly doing something AWS would not.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { UnsupportedAslError } from '../core/errors.ts';
import {
  DELIMITERS,
  type DelimiterName,
  isBlankRecord,
  readCsvRecordBatches,
} from '../core/recipients/csv.ts';
import { ENGINE_FIELDS, type StateDefinition } from './asl.ts';
import { compilePath, compileTemplate, literalOrPath } from './jsonpath.ts';
import { StatesError } from './limits.ts';

/** The fields this adapter reproduces, plus those the engine applies to the Task that stands in for the Map. */
const SUPPORTED_FIELDS = new Set([
  'Type',
  'Label',
  'ItemReader',
  'ItemSelector',
  'ItemBatcher',
  'ItemProcessor',
  'MaxConcurrency',
  'MaxConcurrencyPath',
  'ToleratedFailurePercentage',
  'ToleratedFailurePercentagePath',
  'ToleratedFailureCount',
  'ToleratedFailureCountPath',
  'ResultWriter',
  ...ENGINE_FIELDS,
]);

/** Child results are written in files of about this size; AWS splits larger, but readers use the manifest. */
const RESULT_FILE_BYTES = 8 * 1024 * 1024;

/**
 * JSON texts already made of a child's input or output (the engine measures both against the payload
 * limit), so the result files reuse them instead of serialising the same 500 outcomes again. Keyed by the
 * object itself: nothing changes a child's input or output once it is measured.
 */
const jsonTexts = new WeakMap<object, string>();

/**
 * `JSON.stringify(value)`, remembered for the result files when `value` is an object; the text it was
 * parsed from when `parsedJson` made it (JSON.stringify of what JSON.parse made of a JSON.stringify text
 * is that text again: same members in the same order, numbers and escapes written the same way).
 */
export function measuredJson(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    const known = jsonTexts.get(value);
    if (known !== undefined) return known;
  }
  const text = JSON.stringify(value ?? null);
  if (typeof value === 'object' && value !== null) jsonTexts.set(value, text);
  return text;
}

/** `JSON.parse(text)` of a text JSON.stringify wrote, the text remembered as the value's JSON. */
export function parsedJson(text: string): unknown {
  const value: unknown = JSON.parse(text);
  if (typeof value === 'object' && value !== null) jsonTexts.set(value, text);
  return value;
}

/** The UTF-8 length of `JSON.stringify(batch)` for the batches the adapter made, summed from its items. */
const jsonLengths = new WeakMap<object, number>();

/** How many bytes `JSON.stringify(value)` has, when the Map adapter already knows (a batch it made). */
export function knownJsonBytes(value: unknown): number | undefined {
  return typeof value === 'object' && value !== null ? jsonLengths.get(value) : undefined;
}

/** `JSON.stringify(value)`, or the text `measuredJson` made of this very object. */
function jsonText(value: unknown): string {
  if (typeof value === 'object' && value !== null) {
    const text = jsonTexts.get(value);
    if (text !== undefined) return text;
  }
  return JSON.stringify(value);
}

/** Runs one child execution of the ItemProcessor; resolves with its output or rejects with its error. */
export type ChildRun = (input: unknown, name: string) => Promise<unknown>;

export interface DistributedMapContext {
  stateName: string;
  state: StateDefinition;
  /** The execution's Context Object ($$), to which the adapter adds $$.Map.Item. */
  context: Record<string, unknown>;
  executionArn: string;
  s3: S3Client;
  runChild: ChildRun;
  signal?: AbortSignal;
  /** Observes progress (items read, children finished); optional. */
  onChildDone?: (info: { items: number; failed: boolean }) => void;
}

export { StatesError };

function fail(message: string): never {
  throw new UnsupportedAslError(message);
}

export function validateDistributedMap(stateName: string, state: StateDefinition): void {
  for (const field of Object.keys(state)) {
    if (!SUPPORTED_FIELDS.has(field))
      fail(`Map state "${stateName}" uses ${field}, which the local adapter does not reproduce`);
  }
  const reader = state.ItemReader as Record<string, unknown> | undefined;
  if (!reader)
    fail(`Map state "${stateName}" has no ItemReader; the local adapter reproduces S3 CSV reading only`);
  if (reader.Resource !== 'arn:aws:states:::s3:getObject')
    fail(`ItemReader resource ${String(reader.Resource)} is not reproduced locally`);
  const config = (reader.ReaderConfig ?? {}) as Record<string, unknown>;
  for (const field of Object.keys(config)) {
    if (
      !['InputType', 'CSVHeaderLocation', 'CSVHeaders', 'CSVDelimiter', 'MaxItems', 'MaxItemsPath'].includes(
        field,
      )
    ) {
      fail(`ReaderConfig.${field} is not reproduced locally`);
    }
  }
  if (config.InputType !== 'CSV')
    fail(`ReaderConfig.InputType ${String(config.InputType)} is not reproduced locally (CSV only)`);
  const batcher = state.ItemBatcher as Record<string, unknown> | undefined;
  for (const field of Object.keys(batcher ?? {})) {
    if (
      ![
        'MaxItemsPerBatch',
        'MaxItemsPerBatchPath',
        'MaxInputBytesPerBatch',
        'MaxInputBytesPerBatchPath',
        'BatchInput',
      ].includes(field)
    ) {
      fail(`ItemBatcher.${field} is not reproduced locally`);
    }
  }
  const writer = state.ResultWriter as Record<string, unknown> | undefined;
  if (writer) {
    if (writer.Resource !== 'arn:aws:states:::s3:putObject')
      fail(`ResultWriter resource ${String(writer.Resource)} is not reproduced locally`);
    const wc = (writer.WriterConfig ?? {}) as Record<string, unknown>;
    if (wc.OutputType !== undefined && !['JSON', 'JSONL'].includes(String(wc.OutputType)))
      fail(`WriterConfig.OutputType ${String(wc.OutputType)} is unknown`);
    if (
      wc.Transformation !== undefined &&
      !['NONE', 'COMPACT', 'FLATTEN'].includes(String(wc.Transformation))
    ) {
      fail(`WriterConfig.Transformation ${String(wc.Transformation)} is unknown`);
    }
  }
  const processor = state.ItemProcessor as { States?: Record<string, StateDefinition> };
  for (const [name, child] of Object.entries(processor.States ?? {})) {
    if (
      child.Type === 'Map' &&
      (child.ItemProcessor as { ProcessorConfig?: { Mode?: string } })?.ProcessorConfig?.Mode ===
        'DISTRIBUTED'
    ) {
      fail(`Nested Distributed Map "${name}" is not reproduced locally`);
    }
  }
}

interface ResultEntry {
  status: 'SUCCEEDED' | 'FAILED';
  name: string;
  input: unknown;
  output?: unknown;
  error?: string;
  cause?: string;
  startDate: string;
  stopDate: string;
}

/** Writes child results to S3 the way ResultWriter lays them out. */
class ResultFiles {
  private readonly files: Record<'SUCCEEDED' | 'FAILED', { Key: string; Size: number }[]> = {
    SUCCEEDED: [],
    FAILED: [],
  };
  private readonly buffers: Record<'SUCCEEDED' | 'FAILED', string[]> = { SUCCEEDED: [], FAILED: [] };
  private readonly sizes = { SUCCEEDED: 0, FAILED: 0 };
  private readonly writes: Promise<void>[] = [];
  readonly prefix: string;

  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    prefix: string,
    readonly mapRunId: string,
    private readonly outputType: 'JSON' | 'JSONL',
    private readonly transformation: 'NONE' | 'COMPACT' | 'FLATTEN',
    private readonly mapRunArn: string,
    private readonly childArn: (name: string) => string,
  ) {
    this.prefix = `${prefix.replace(/\/$/, '')}/${mapRunId}`;
  }

  add(entry: ResultEntry) {
    for (const line of this.lines(entry)) {
      this.buffers[entry.status].push(line);
      this.sizes[entry.status] += line.length + 1;
    }
    if (this.sizes[entry.status] >= RESULT_FILE_BYTES) this.flush(entry.status);
  }

  private lines(entry: ResultEntry): string[] {
    const full = () =>
      JSON.stringify({
        ExecutionArn: this.childArn(entry.name),
        Input: jsonText(entry.input),
        InputDetails: { Included: true },
        Name: entry.name,
        ...(entry.status === 'SUCCEEDED'
          ? { Output: jsonText(entry.output), OutputDetails: { Included: true } }
          : { Error: entry.error, Cause: entry.cause }),
        RedriveCount: 0,
        RedriveStatus: 'NOT_REDRIVABLE',
        StartDate: entry.startDate,
        StateMachineArn: this.mapRunArn,
        Status: entry.status,
        StopDate: entry.stopDate,
      });
    // Failed children are always written in full, whatever the transformation.
    if (entry.status === 'FAILED' || this.transformation === 'NONE') return [full()];
    if (this.transformation === 'FLATTEN' && Array.isArray(entry.output))
      return entry.output.map((o) => JSON.stringify(o));
    return [jsonText(entry.output)];
  }

  private flush(status: 'SUCCEEDED' | 'FAILED') {
    const lines = this.buffers[status];
    if (lines.length === 0) return;
    const key = `${this.prefix}/${status}_${this.files[status].length}.json`;
    const body = this.outputType === 'JSONL' ? `${lines.join('\n')}\n` : `[${lines.join(',')}]`;
    this.files[status].push({ Key: key, Size: Buffer.byteLength(body) });
    this.buffers[status] = [];
    this.sizes[status] = 0;
    this.writes.push(
      this.s3
        .send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: body,
            ContentType: 'application/json',
          }),
        )
        .then(() => undefined),
    );
  }

  async finish(): Promise<{ Bucket: string; Key: string }> {
    this.flush('SUCCEEDED');
    this.flush('FAILED');
    await Promise.all(this.writes);
    const key = `${this.prefix}/manifest.json`;
    const manifest = {
      DestinationBucket: this.bucket,
      MapRunArn: this.mapRunArn,
      ResultFiles: { FAILED: this.files.FAILED, PENDING: [], SUCCEEDED: this.files.SUCCEEDED },
    };
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: JSON.stringify(manifest),
        ContentType: 'application/json',
      }),
    );
    return { Bucket: this.bucket, Key: key };
  }
}

function positiveInteger(value: unknown, what: string, fallback?: number): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new StatesError('States.Runtime', `${what} must be a non-negative integer, got ${String(value)}`);
  return n;
}

/** The CSV's items, one array per chunk read (one step of async iteration per chunk, not per item). */
async function* csvItems(
  body: Readable,
  config: Record<string, unknown>,
): AsyncGenerator<Record<string, string>[]> {
  const delimiterName = (config.CSVDelimiter ?? 'COMMA') as DelimiterName;
  const delimiter = DELIMITERS[delimiterName];
  if (!delimiter) fail(`CSVDelimiter ${String(config.CSVDelimiter)} is unknown`);
  const location = config.CSVHeaderLocation ?? 'FIRST_ROW';
  let header: string[] | undefined;
  if (location === 'GIVEN') {
    if (!Array.isArray(config.CSVHeaders))
      throw new StatesError('States.ItemReaderFailed', 'CSVHeaderLocation GIVEN needs CSVHeaders');
    header = config.CSVHeaders.map(String);
  } else if (location !== 'FIRST_ROW') fail(`CSVHeaderLocation ${String(location)} is unknown`);
  for await (const records of readCsvRecordBatches(body, { dialect: 'aws', delimiter })) {
    const items: Record<string, string>[] = [];
    for (const record of records) {
      if (isBlankRecord(record)) continue;
      if (!header) {
        header = record.fields;
        continue;
      }
      const item: Record<string, string> = {};
      // Missing fields become empty strings and extra fields are dropped, as AWS documents.
      for (let i = 0; i < header.length; i++) item[header[i] as string] = record.fields[i] ?? '';
      items.push(item);
    }
    if (items.length > 0) yield items;
  }
}

export async function runDistributedMap(input: unknown, ctx: DistributedMapContext): Promise<unknown> {
  const { state, context } = ctx;
  validateDistributedMap(ctx.stateName, state);
  const reader = state.ItemReader as { ReaderConfig?: Record<string, unknown>; Parameters?: unknown };
  const readerConfig = reader.ReaderConfig ?? {};
  const where = compileTemplate(reader.Parameters ?? {})(input, context) as { Bucket?: string; Key?: string };
  if (!where.Bucket || !where.Key)
    throw new StatesError('States.ItemReaderFailed', 'ItemReader Parameters need Bucket and Key');
  const maxItems = positiveInteger(literalOrPath(readerConfig, 'MaxItems', input, context), 'MaxItems', 0);

  const selector = state.ItemSelector === undefined ? undefined : compileTemplate(state.ItemSelector);
  const batcherDef = state.ItemBatcher as Record<string, unknown> | undefined;
  const maxPerBatch = batcherDef
    ? positiveInteger(literalOrPath(batcherDef, 'MaxItemsPerBatch', input, context), 'MaxItemsPerBatch', 0)
    : 0;
  const maxBytes = batcherDef
    ? positiveInteger(
        literalOrPath(batcherDef, 'MaxInputBytesPerBatch', input, context),
        'MaxInputBytesPerBatch',
        0,
      )
    : 0;
  if (batcherDef && maxPerBatch === 0 && maxBytes === 0) {
    throw new StatesError('States.Runtime', 'ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch');
  }
  const batchInput =
    batcherDef?.BatchInput === undefined ? undefined : compileTemplate(batcherDef.BatchInput)(input, context);
  const maxConcurrency =
    positiveInteger(literalOrPath(state, 'MaxConcurrency', input, context), 'MaxConcurrency', 0) || 10_000;
  const toleratedCount = literalOrPath(state, 'ToleratedFailureCount', input, context);
  const toleratedPct = literalOrPath(state, 'ToleratedFailurePercentage', input, context);

  const mapRunId = randomUUID();
  const label = typeof state.Label === 'string' ? state.Label : ctx.stateName;
  const mapRunArn = `${ctx.executionArn.replace(':execution:', ':mapRun:')}/${label}:${mapRunId}`;
  const childName = (n: number) => `${mapRunId.slice(0, 8)}-${n}`;
  const writerDef = state.ResultWriter as
    | { Parameters?: unknown; WriterConfig?: Record<string, string> }
    | undefined;
  let results: ResultFiles | undefined;
  if (writerDef) {
    const target = compileTemplate(writerDef.Parameters ?? {})(input, context) as {
      Bucket?: string;
      Prefix?: string;
    };
    if (!target.Bucket)
      throw new StatesError('States.ResultWriterFailed', 'ResultWriter Parameters need a Bucket');
    results = new ResultFiles(
      ctx.s3,
      target.Bucket,
      target.Prefix ?? '',
      mapRunId,
      (writerDef.WriterConfig?.OutputType ?? 'JSON') as 'JSON' | 'JSONL',
      (writerDef.WriterConfig?.Transformation ?? 'NONE') as 'NONE' | 'COMPACT' | 'FLATTEN',
      mapRunArn,
      (name) => `${mapRunArn.replace(':mapRun:', ':express:')}:${name}`,
    );
  }
  const inlineOutputs: unknown[] = [];

  let itemsRead = 0;
  let failedItems = 0;
  let readingDone = false;
  let children = 0;
  let firstFailure: { error: string; cause: string } | undefined;
  const inFlight = new Set<Promise<void>>();

  const toleranceExceeded = () => {
    if (failedItems === 0) return false;
    if (toleratedCount === undefined && toleratedPct === undefined) return true;
    if (toleratedCount !== undefined && failedItems > Number(toleratedCount)) return true;
    // A percentage can only be judged against the whole input, so it waits until reading has finished.
    if (
      toleratedPct !== undefined &&
      readingDone &&
      (failedItems / Math.max(1, itemsRead)) * 100 > Number(toleratedPct)
    )
      return true;
    return false;
  };

  const launch = (payload: unknown, itemCount: number, order: number) => {
    const name = childName(order);
    const startDate = new Date().toISOString();
    const run = ctx
      .runChild(payload, name)
      .then(
        (output) => {
          results?.add({
            status: 'SUCCEEDED',
            name,
            input: payload,
            output,
            startDate,
            stopDate: new Date().toISOString(),
          });
          if (!results) inlineOutputs[order] = output;
          ctx.onChildDone?.({ items: itemCount, failed: false });
        },
        (error: Error & { cause?: unknown }) => {
          failedItems += itemCount;
          const failure = {
            error: error.name ?? 'Error',
            cause: typeof error.cause === 'string' ? error.cause : String(error.message ?? error),
          };
          firstFailure ??= failure;
          results?.add({
            status: 'FAILED',
            name,
            input: payload,
            ...failure,
            startDate,
            stopDate: new Date().toISOString(),
          });
          ctx.onChildDone?.({ items: itemCount, failed: true });
        },
      )
      .finally(() => inFlight.delete(run));
    inFlight.add(run);
  };

  const body = (
    await ctx.s3
      .send(new GetObjectCommand({ Bucket: where.Bucket, Key: where.Key }))
      .catch((error: Error) => {
        throw new StatesError(
          'States.ItemReaderFailed',
          `Could not read s3://${where.Bucket}/${where.Key}: ${error.message}`,
        );
      })
  ).Body as Readable;

  // MaxInputBytesPerBatch bounds the items of a batch (the `Items` array); BatchInput comes on top, and
  // the whole child input must still fit the state payload limit (the engine checks each child's input).
  const envelope = Buffer.byteLength(JSON.stringify([]));
  let batch: unknown[] = [];
  let batchBytes = envelope;
  // The child input's JSON is `{"BatchInput":<BatchInput>,"Items":[<item>,...]}`: its length follows from
  // the items' lengths measured above (batchBytes counts a comma after every item: one more than the
  // array has), so the engine's check of the payload limit need not serialise the batch again.
  const batchInputText = batchInput === undefined ? undefined : JSON.stringify(batchInput);
  const wrapperBytes =
    batchInputText === undefined
      ? Buffer.byteLength('{"Items":}')
      : Buffer.byteLength('{"BatchInput":,"Items":}') + Buffer.byteLength(batchInputText);
  const closeBatch = async () => {
    if (batch.length === 0) return;
    while (inFlight.size >= maxConcurrency) await Promise.race(inFlight);
    const payload = batcherDef
      ? { ...(batchInput === undefined ? {} : { BatchInput: batchInput }), Items: batch }
      : batch[0];
    if (batcherDef && (batchInput === undefined || batchInputText !== undefined))
      jsonLengths.set(payload as object, wrapperBytes + batchBytes - 1);
    launch(payload, batch.length, children++);
    batch = [];
    batchBytes = envelope;
  };

  try {
    reading: for await (const values of csvItems(body, readerConfig))
      for (const value of values) {
        if (ctx.signal?.aborted) throw new StatesError('States.Aborted', 'the execution was stopped');
        if (toleranceExceeded()) break reading;
        const index = itemsRead++;
        const item = selector
          ? selector(input, { ...context, Map: { Item: { Index: index, Value: value } } })
          : value;
        if (!batcherDef) {
          batch = [item];
          await closeBatch();
        } else {
          const size = Buffer.byteLength(JSON.stringify(item)) + 1;
          if (maxBytes > 0 && envelope + size > maxBytes) {
            throw new StatesError(
              'States.ItemReaderFailed',
              `Item ${index} is ${size} bytes, more than MaxInputBytesPerBatch (${maxBytes})`,
            );
          }
          if (
            (maxBytes > 0 && batchBytes + size > maxBytes) ||
            (maxPerBatch > 0 && batch.length >= maxPerBatch)
          )
            await closeBatch();
          batch.push(item);
          batchBytes += size;
        }
        if (maxItems > 0 && itemsRead >= maxItems) break reading;
      }
    if (!toleranceExceeded()) await closeBatch();
  } finally {
    body.destroy();
    readingDone = true;
    await Promise.all(inFlight);
  }
  const resultDetails = results ? await results.finish() : undefined;
  if (toleranceExceeded()) {
    const summary = `${failedItems} of ${itemsRead} items failed; first failure: ${firstFailure?.error}: ${firstFailure?.cause}`;
    throw Object.assign(new StatesError('States.ExceedToleratedFailureThreshold', summary), {
      cause: summary,
    });
  }
  if (resultDetails) return { MapRunArn: mapRunArn, ResultWriterDetails: resultDetails };
  return inlineOutputs;
}

export { compilePath };
