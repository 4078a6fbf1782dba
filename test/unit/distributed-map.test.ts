import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { UnsupportedAslError } from '../../core/errors.ts';
import type { StateDefinition } from '../../local/asl.ts';
import {
  type ChildRun,
  knownJsonBytes,
  measuredJson,
  parsedJson,
  runDistributedMap,
} from '../../local/distributed-map.ts';

const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const s3Mock = mockClient(s3);
let written: Record<string, string>;

function serveCsv(text: string) {
  // A fresh stream per request, in small chunks so records straddle chunk boundaries.
  s3Mock.on(GetObjectCommand).callsFake(async () => ({
    Body: Readable.from(text.match(/[\s\S]{1,5}/g) ?? [], { objectMode: false }),
  }));
}

beforeEach(() => {
  s3Mock.reset();
  written = {};
  s3Mock.on(PutObjectCommand).callsFake(async (input: { Key: string; Body: string }) => {
    written[input.Key] = input.Body;
    return {};
  });
});

const EXECUTION = 'arn:aws:states:us-east-1:000000000000:execution:m:run1';

function mapState(extra: Record<string, unknown> = {}): StateDefinition {
  return {
    Type: 'Map',
    ItemReader: {
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' },
      Parameters: { 'Bucket.$': '$.bucket', 'Key.$': '$.key' },
    },
    ItemSelector: {
      'index.$': '$$.Map.Item.Index',
      'row.$': '$$.Map.Item.Value',
      'campaign.$': '$.campaign',
    },
    ItemProcessor: {
      ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' },
      StartAt: 'Work',
      States: {
        Work: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:000000000000:function:w', End: true },
      },
    },
    ...extra,
  };
}

const input = { bucket: 'b', key: 'k.csv', campaign: 'c1', size: 2, bytes: 1000, tolerated: 50 };

async function run(state: StateDefinition, runChild: ChildRun) {
  return runDistributedMap(input, {
    stateName: 'Send',
    state,
    context: { Execution: { Id: EXECUTION } },
    executionArn: EXECUTION,
    s3,
    runChild,
  });
}

describe('Distributed Map adapter: reading the CSV', () => {
  it('yields one object per row keyed by header, adding index and value through ItemSelector', async () => {
    serveCsv('email,name\na@x.com,A\n\nb@x.com,"B, b"\n');
    const seen: unknown[] = [];
    const output = await run(mapState(), async (item) => {
      seen.push(item);
      return 'ok';
    });
    expect(seen).toEqual([
      { index: 0, row: { email: 'a@x.com', name: 'A' }, campaign: 'c1' },
      { index: 1, row: { email: 'b@x.com', name: 'B, b' }, campaign: 'c1' },
    ]);
    expect(output).toEqual(['ok', 'ok']);
  });

  it('fills missing fields with empty strings and drops extra fields, as AWS does', async () => {
    serveCsv('a,b,c\n1\n1,2,3,4,5\n');
    const seen: unknown[] = [];
    await run(mapState({ ItemSelector: undefined }), async (item) => {
      seen.push(item);
    });
    expect(seen).toEqual([
      { a: '1', b: '', c: '' },
      { a: '1', b: '2', c: '3' },
    ]);
  });

  it('applies backslash escapes and a given header (GIVEN treats the first line as data)', async () => {
    serveCsv('x\\,y,a\\qb\n');
    const seen: unknown[] = [];
    const state = mapState({ ItemSelector: undefined });
    (state.ItemReader as { ReaderConfig: Record<string, unknown> }).ReaderConfig = {
      InputType: 'CSV',
      CSVHeaderLocation: 'GIVEN',
      CSVHeaders: ['first', 'second'],
    };
    await run(state, async (item) => {
      seen.push(item);
    });
    expect(seen).toEqual([{ first: 'x,y', second: 'aqb' }]);
  });

  it('stops after MaxItems', async () => {
    serveCsv('n\n1\n2\n3\n4\n');
    const seen: unknown[] = [];
    const state = mapState({ ItemSelector: undefined });
    (state.ItemReader as { ReaderConfig: Record<string, unknown> }).ReaderConfig = {
      InputType: 'CSV',
      CSVHeaderLocation: 'FIRST_ROW',
      MaxItems: 2,
    };
    await run(state, async (item) => {
      seen.push(item);
    });
    expect(seen).toHaveLength(2);
  });
});

describe('Distributed Map adapter: batching and concurrency', () => {
  const rows = (n: number) => `email\n${Array.from({ length: n }, (_, i) => `u${i}@x.com`).join('\n')}\n`;

  it('batches by count with the BatchInput, never exceeding MaxConcurrency', async () => {
    serveCsv(rows(7));
    let inFlight = 0;
    let peak = 0;
    const batches: { BatchInput: unknown; Items: { index: number }[] }[] = [];
    const state = mapState({
      ItemBatcher: { MaxItemsPerBatchPath: '$.size', BatchInput: { 'campaign.$': '$.campaign' } },
      MaxConcurrency: 2,
    });
    await run(state, async (batch) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      batches.push(batch as (typeof batches)[number]);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
    });
    expect(batches.map((b) => b.Items.map((i) => i.index))).toEqual([[0, 1], [2, 3], [4, 5], [6]]);
    expect(batches.every((b) => JSON.stringify(b.BatchInput) === '{"campaign":"c1"}')).toBe(true);
    expect(peak).toBe(2);
  });

  it('closes a batch before it would exceed MaxInputBytesPerBatch', async () => {
    serveCsv(rows(20));
    const sizes: number[] = [];
    const state = mapState({ ItemBatcher: { MaxItemsPerBatch: 100, MaxInputBytesPerBatchPath: '$.bytes' } });
    await run(state, async (batch) => {
      sizes.push(Buffer.byteLength(JSON.stringify(batch)));
    });
    expect(sizes.length).toBeGreaterThan(1);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(1000);
  });

  it('knows the JSON length of every batch it makes, as JSON.stringify measures it (generated rows)', async () => {
    const cell = fc.string({ unit: 'grapheme', maxLength: 12 }).map((v) => v.replace(/[\r\n",\\]/g, ''));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(cell, cell), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.option(fc.constantFrom({ 'campaign.$': '$.campaign' }, { fixed: 'é"\\', 'n.$': '$.size' }), {
          nil: undefined,
        }),
        async (records, size, batchInput) => {
          serveCsv(`a,b\n${records.map(([a, b]) => `${a},${b}`).join('\n')}\n`);
          const state = mapState({
            ItemBatcher: { MaxItemsPerBatch: size, ...(batchInput ? { BatchInput: batchInput } : {}) },
          });
          let batches = 0;
          await run(state, async (batch) => {
            batches++;
            expect(knownJsonBytes(batch)).toBe(Buffer.byteLength(JSON.stringify(batch)));
          });
          expect(batches).toBe(Math.ceil(records.length / size));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('fails an item that is larger than a whole batch may be', async () => {
    serveCsv(`email\n${'x'.repeat(2000)}\n`);
    const state = mapState({ ItemBatcher: { MaxInputBytesPerBatch: 1000 } });
    await expect(run(state, async () => undefined)).rejects.toMatchObject({
      name: 'States.ItemReaderFailed',
    });
  });
});

describe('Distributed Map adapter: failures and results', () => {
  const rows = (n: number) => `email\n${Array.from({ length: n }, (_, i) => `u${i}@x.com`).join('\n')}\n`;
  const failing =
    (bad: Set<number>): ChildRun =>
    async (batch) => {
      const items = (batch as { Items: { index: number }[] }).Items;
      if (items.some((item) => bad.has(item.index)))
        throw Object.assign(new Error('boom'), { name: 'SesTransientError' });
      return { done: items.map((i) => i.index) };
    };

  it('writes the same result files when the engine measured the inputs and outputs first (their JSON reused)', async () => {
    const files: Record<string, string>[] = [];
    for (const transformation of ['COMPACT', 'NONE'] as const) {
      // measured: as the engine measures a child; parsed: the output parsed from a JSON handler's text too.
      for (const measured of [false, true, 'parsed'] as const) {
        serveCsv(rows(9));
        written = {};
        const state = mapState({
          ItemBatcher: { MaxItemsPerBatch: 2, BatchInput: { 'campaign.$': '$.campaign' } },
          ToleratedFailurePercentage: 100,
          ResultWriter: {
            Resource: 'arn:aws:states:::s3:putObject',
            Parameters: { 'Bucket.$': '$.bucket', Prefix: 'results' },
            WriterConfig: { OutputType: 'JSONL', Transformation: transformation },
          },
        });
        const inner = failing(new Set([4]));
        await run(state, async (batch, name) => {
          // As local/engine.ts measures a child against the payload limit.
          if (measured) measuredJson(batch);
          let output = await inner(batch, name);
          if (measured === 'parsed') output = parsedJson(JSON.stringify(output));
          if (measured) measuredJson(output);
          return output;
        });
        // Child names and dates differ between runs: compare what the children were given and answered.
        const stable: Record<string, string> = {};
        for (const [key, body] of Object.entries(written))
          stable[key.replace(/\/[^/]+\/(?=[^/]+$)/, '/RUN/')] = body
            .replace(/"(StartDate|StopDate|ExecutionArn|Name|StateMachineArn|MapRunArn)":"[^"]*"/g, '"$1":""')
            .replace(/results\/[^/"]+\//g, 'results/RUN/');
        files.push(stable);
      }
      expect(files[files.length - 1]).toEqual(files[files.length - 3]);
      expect(files[files.length - 2]).toEqual(files[files.length - 3]);
      const succeeded = files[files.length - 1]?.['results/RUN/SUCCEEDED_0.json'];
      expect(succeeded).toContain(
        transformation === 'NONE' ? '"Output":"{\\"done\\":[0,1]}"' : '{"done":[0,1]}\n',
      );
    }
  });

  it('a value parsed from JSON text is measured as that text, which is what JSON.stringify writes of it (generated values)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        // The text as JSON.stringify wrote it (the worker's answer): -0, escapes, __proto__ keys and all.
        const text = JSON.stringify(value) ?? 'null';
        const parsed = parsedJson(text);
        expect(measuredJson(parsed)).toBe(JSON.stringify(JSON.parse(text)));
      }),
      { numRuns: 300 },
    );
  });

  it('fails on the first failed child when no tolerance is set', async () => {
    serveCsv(rows(6));
    const state = mapState({ ItemBatcher: { MaxItemsPerBatch: 2 } });
    await expect(run(state, failing(new Set([2])))).rejects.toMatchObject({
      name: 'States.ExceedToleratedFailureThreshold',
    });
  });

  it('tolerates failures within the percentage and writes SUCCEEDED and FAILED result files with a manifest', async () => {
    serveCsv(rows(10));
    const state = mapState({
      ItemBatcher: { MaxItemsPerBatch: 2 },
      ToleratedFailurePercentagePath: '$.tolerated',
      ResultWriter: {
        Resource: 'arn:aws:states:::s3:putObject',
        Parameters: { 'Bucket.$': '$.bucket', Prefix: 'results' },
        WriterConfig: { OutputType: 'JSONL', Transformation: 'COMPACT' },
      },
    });
    const output = (await run(state, failing(new Set([4])))) as {
      MapRunArn: string;
      ResultWriterDetails: { Bucket: string; Key: string };
    };
    expect(output.MapRunArn).toMatch(/^arn:aws:states:us-east-1:000000000000:mapRun:m:run1\/Send:/);
    expect(output.ResultWriterDetails.Bucket).toBe('b');
    const manifest = JSON.parse(written[output.ResultWriterDetails.Key] as string);
    expect(manifest.ResultFiles.SUCCEEDED).toHaveLength(1);
    expect(manifest.ResultFiles.FAILED).toHaveLength(1);
    const succeeded = (written[manifest.ResultFiles.SUCCEEDED[0].Key] as string)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // COMPACT: each line is a child's output.
    expect(
      succeeded.flatMap((s: { done: number[] }) => s.done).sort((a: number, b: number) => a - b),
    ).toEqual([0, 1, 2, 3, 6, 7, 8, 9]);
    const failed = JSON.parse((written[manifest.ResultFiles.FAILED[0].Key] as string).trim());
    // Failed children are written in full, with their input, whatever the transformation.
    expect(failed).toMatchObject({ Status: 'FAILED', Error: 'SesTransientError' });
    expect(JSON.parse(failed.Input).Items.map((i: { index: number }) => i.index)).toEqual([4, 5]);
  });

  it('fails past the tolerated percentage, after writing what it has', async () => {
    serveCsv(rows(10));
    const state = mapState({
      ItemBatcher: { MaxItemsPerBatch: 2 },
      ToleratedFailurePercentage: 10,
      ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: 'b', Prefix: 'r' } },
    });
    await expect(run(state, failing(new Set([0, 4])))).rejects.toMatchObject({
      name: 'States.ExceedToleratedFailureThreshold',
      message: expect.stringContaining('4 of 10 items failed'),
    });
    expect(Object.keys(written).some((key) => key.endsWith('manifest.json'))).toBe(true);
  });
});

describe('Distributed Map adapter: fields it does not reproduce', () => {
  it.each([
    ['an unknown Map field', { ItemsPath: '$.items' }],
    [
      'a JSON reader',
      {
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'JSON' },
          Parameters: {},
        },
      },
    ],
    [
      'an S3 listing reader',
      { ItemReader: { Resource: 'arn:aws:states:::s3:listObjectsV2', Parameters: {} } },
    ],
    ['an unknown batcher field', { ItemBatcher: { MaxItemsPerBatch: 2, Foo: 1 } }],
  ])('fails loudly on %s', async (_, extra) => {
    serveCsv('a\n1\n');
    await expect(run(mapState(extra), async () => undefined)).rejects.toBeInstanceOf(UnsupportedAslError);
  });

  it('refuses intrinsic functions in payload templates', async () => {
    serveCsv('a\n1\n');
    const state = mapState({ ItemSelector: { 'x.$': 'States.Format($.campaign)' } });
    await expect(run(state, async () => undefined)).rejects.toBeInstanceOf(UnsupportedAslError);
  });
});
