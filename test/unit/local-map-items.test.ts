/**
 * A Map child whose one Task takes its input's Items whole gets them through aws-local-stepfunctions as
 * a placeholder (local/engine.ts itemsPassThrough): the Task must see exactly what it saw with the Items
 * in the input, and every other child definition must keep them in the input.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { TaskHandler } from '../../handlers/runtime.ts';
import { itemsPassThrough, LocalEngine } from '../../local/engine.ts';

const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const s3Mock = mockClient(s3);
afterEach(() => s3Mock.reset());

const dir = mkdtempSync(join(tmpdir(), 'sixback-map-items-'));
let files = 0;

const SEND = {
  Type: 'Task',
  // The function's ARN, as the engine substitutes it.
  Resource: '$' + '{WorkFunctionArn}',
  Parameters: {
    'BatchInput.$': '$.BatchInput',
    'Items.$': '$.Items',
    'childStartedAt.$': '$$.Execution.StartTime',
  },
  TimeoutSeconds: 240,
  Retry: [{ ErrorEquals: ['SesTransientError'], IntervalSeconds: 1, MaxAttempts: 2 }],
  End: true,
};
const child = (work: Record<string, unknown>) => ({ StartAt: 'Work', States: { Work: work } });

describe('which children pass their Items as a placeholder', () => {
  it("the campaign's SendBatch children do (both Maps of statemachines/campaign.asl.json)", () => {
    expect(itemsPassThrough(child(SEND) as never)).toBe(true);
    expect(itemsPassThrough(child({ ...SEND, QueryLanguage: 'JSONPath' }) as never)).toBe(true);
    const handlers = Object.fromEntries(
      ['Prepare', 'BeginSending', 'SendBatch', 'Finalise', 'PickWinner', 'Notify'].map((n) => [
        `${n}FunctionArn`,
        async () => ({}),
      ]),
    );
    const campaign = new LocalEngine({ handlers, s3 });
    expect(campaign.passesItemsThrough('SendBatches')).toBe(true);
    expect(campaign.passesItemsThrough('SendSample')).toBe(true);
  });

  it('no child that could see the Items otherwise', () => {
    const others: Record<string, unknown>[] = [
      { ...SEND, InputPath: '$' },
      { ...SEND, ResultPath: '$.result' },
      { ...SEND, ResultSelector: { 'n.$': '$' } },
      { ...SEND, OutputPath: '$' },
      { ...SEND, Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Work' }] },
      { ...SEND, End: undefined, Next: 'Work' },
      { ...SEND, Parameters: { 'Items.$': '$.Items[0]' } },
      { ...SEND, Parameters: { 'Items.$': '$.Items', 'first.$': '$.Items[0].row' } },
      { ...SEND, Parameters: { 'Items.$': '$.Items', 'first.$': '$.Items.0' } },
      { ...SEND, Parameters: { 'Items.$': '$.Items', 'all.$': '$' } },
      { ...SEND, Parameters: { 'Items.$': '$.Items', 'n.$': 'States.ArrayLength($.Items)' } },
      { ...SEND, Parameters: { 'Items.$': '$.Items', 'input.$': '$$.Execution.Input' } },
      { ...SEND, Parameters: { 'Items.$': '$.Items', nested: { 'again.$': '$.Items' } } },
      { ...SEND, Parameters: { 'Items.$': "$['Items']" } },
      { ...SEND, Parameters: { 'BatchInput.$': '$.BatchInput' } },
      { ...SEND, Type: 'Pass' },
      { ...SEND, QueryLanguage: 'JSONata' },
    ];
    for (const work of others)
      expect(itemsPassThrough(child(work) as never), JSON.stringify(work)).toBe(false);
    // Two states: the second could read the first one's output.
    expect(
      itemsPassThrough({
        StartAt: 'Work',
        States: { Work: SEND, Other: { Type: 'Pass', End: true } },
      } as never),
    ).toBe(false);
  });
});

describe('a Task whose Items passed the library as a placeholder', () => {
  /** One engine per child definition (an engine takes a while to build), run on one CSV per call. */
  function engine(work: Record<string, unknown>) {
    const seen: unknown[] = [];
    let failNext = false;
    const handler: TaskHandler = async (input) => {
      const { childStartedAt: _, ...rest } = input as Record<string, unknown>;
      seen.push(rest);
      // One retried attempt per run: the retry must get the Items again.
      if (failNext) {
        failNext = false;
        throw Object.assign(new Error('again'), { name: 'SesTransientError' });
      }
      return { count: (rest.Items as unknown[]).length, first: (rest.Items as unknown[])[0] };
    };
    const definition = {
      StartAt: 'Send',
      States: {
        Send: {
          Type: 'Map',
          ItemReader: {
            Resource: 'arn:aws:states:::s3:getObject',
            ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' },
            Parameters: { Bucket: 'b', Key: 'k.csv' },
          },
          ItemSelector: { 'index.$': '$$.Map.Item.Index', 'row.$': '$$.Map.Item.Value' },
          ItemBatcher: { MaxItemsPerBatchPath: '$.batch', BatchInput: { campaignId: 'c1', 'n.$': '$.n' } },
          MaxConcurrency: 1,
          ItemProcessor: {
            ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' },
            ...child(work),
          },
          End: true,
        },
      },
    };
    const path = join(dir, `machine-${files++}.asl.json`);
    writeFileSync(path, JSON.stringify(definition));
    const local = new LocalEngine({
      handlers: { WorkFunctionArn: handler },
      s3,
      aslPath: path,
      retryIntervalOverrides: { Work: 0 },
    });
    return Object.assign(
      async (csv: string, batch: number) => {
        s3Mock.on(GetObjectCommand).callsFake(async () => ({ Body: Readable.from([csv]) }));
        seen.length = 0;
        failNext = true;
        const { executionArn } = await local.start(`run-${files++}`, { n: 7, batch } as never);
        const execution = await local.wait(executionArn);
        return { status: execution.status, output: execution.output, seen: [...seen] };
      },
      { passesItemsThrough: local.passesItemsThrough('Send') },
    );
  }

  it('gets what it got with the Items in the input, retries included (generated CSVs)', async () => {
    const placeholder = engine(SEND);
    // InputPath "$" changes nothing but keeps the Items in the input.
    const inInput = engine({ ...SEND, InputPath: '$' });
    expect(placeholder.passesItemsThrough).toBe(true);
    expect(inInput.passesItemsThrough).toBe(false);
    const cell = fc.stringMatching(/^[a-z0-9 @.é]{0,6}$/);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(cell, cell), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        async (rows, batch) => {
          const csv = `email,name\n${rows.map((r) => r.join(',')).join('\n')}\n`;
          const viaPlaceholder = await placeholder(csv, batch);
          const viaInput = await inInput(csv, batch);
          expect(viaPlaceholder.status).toBe('SUCCEEDED');
          expect(viaPlaceholder.seen.length).toBe(Math.ceil(rows.length / batch) + 1);
          expect(viaPlaceholder).toEqual(viaInput);
          expect(JSON.stringify(viaPlaceholder.seen)).not.toContain('sixback-local-items');
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);
});
