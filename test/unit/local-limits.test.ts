/**
 * The local engine fails where AWS fails, with AWS's error names: a Standard execution's 25,000 history
 * events (States.Runtime), 256 KiB per state payload and per child input and output
 * (States.DataLimitExceeded, which a Catch of States.ALL does not catch), Lambda's 6 MB synchronous
 * response (Function.ResponseSizeTooLarge), and an EXPRESS child's 5 minutes (States.Timeout; shrunk here).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { AWS_LIMITS, historyLimitCause } from '../../core/aws/limits.ts';
import type { JsonTaskHandler, TaskHandler } from '../../handlers/runtime.ts';
import { LocalEngine, type LocalEngineOptions } from '../../local/engine.ts';

const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const s3Mock = mockClient(s3);
afterEach(() => s3Mock.reset());

const dir = mkdtempSync(join(tmpdir(), 'sixback-limits-'));
let files = 0;
function aslFile(definition: unknown): string {
  const path = join(dir, `machine-${files++}.asl.json`);
  writeFileSync(path, JSON.stringify(definition));
  return path;
}

async function runMachine(
  definition: unknown,
  handlers: Record<string, TaskHandler>,
  options: Partial<LocalEngineOptions> = {},
) {
  const engine = new LocalEngine({ handlers, s3, aslPath: aslFile(definition), ...options });
  const { executionArn } = await engine.start(`run-${files}`, { campaignId: 'c1' });
  return engine.wait(executionArn);
}

const task = (resource: string, extra: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: `\${${resource}}`,
  ...extra,
});

describe('history limit of a Standard execution', () => {
  it('fails an endless loop with States.Runtime at 25,000 events, as AWS does', async () => {
    const execution = await runMachine(
      {
        StartAt: 'Spin',
        States: {
          Spin: { Type: 'Pass', Next: 'Again' },
          Again: {
            Type: 'Choice',
            Choices: [{ Variable: '$.campaignId', IsPresent: true, Next: 'Spin' }],
            Default: 'Stop',
          },
          Stop: { Type: 'Succeed' },
        },
      },
      {},
    );
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toEqual({
      Error: 'States.Runtime',
      Cause: historyLimitCause(AWS_LIMITS.standardHistoryEvents),
    });
  });

  it('counts a Lambda Task as five events, and a retried attempt as three more', async () => {
    let calls = 0;
    const flaky: TaskHandler = async () => {
      calls++;
      if (calls === 1) throw Object.assign(new Error('try again'), { name: 'Transient' });
      return { ok: true };
    };
    const definition = {
      StartAt: 'Work',
      States: {
        Work: task('WorkFunctionArn', {
          Retry: [{ ErrorEquals: ['Transient'], IntervalSeconds: 1, MaxAttempts: 2 }],
          End: true,
        }),
      },
    };
    const overrides = { retryIntervalOverrides: { Work: 0 } };
    // ExecutionStarted 1 + Task 5 + one failed attempt 3 + ExecutionSucceeded 1 = 10 events.
    const fits = await runMachine(
      definition,
      { WorkFunctionArn: flaky },
      { ...overrides, limits: { standardHistoryEvents: 10 } },
    );
    expect(fits.status).toBe('SUCCEEDED');
    calls = 0;
    const full = await runMachine(
      definition,
      { WorkFunctionArn: flaky },
      { ...overrides, limits: { standardHistoryEvents: 9 } },
    );
    expect(full.status).toBe('FAILED');
    expect(full.error?.Error).toBe('States.Runtime');
  });
});

describe('state payload limit', () => {
  const big = (bytes: number) => ({ blob: 'x'.repeat(bytes) });

  it('fails a task whose result is over 256 KiB with States.DataLimitExceeded, past any Catch of States.ALL', async () => {
    let recovered = false;
    const execution = await runMachine(
      {
        StartAt: 'Work',
        States: {
          Work: task('WorkFunctionArn', {
            Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Recover' }],
            End: true,
          }),
          Recover: task('RecoverFunctionArn', { End: true }),
        },
      },
      {
        WorkFunctionArn: async () => big(AWS_LIMITS.statePayloadBytes),
        RecoverFunctionArn: async () => {
          recovered = true;
          return {};
        },
      },
    );
    expect(execution.status).toBe('FAILED');
    expect(execution.error?.Error).toBe('States.DataLimitExceeded');
    expect(recovered).toBe(false);
  });

  it('fails on a state output over the limit that no single result exceeds, before the next state runs', async () => {
    const half = Math.ceil(AWS_LIMITS.statePayloadBytes / 2);
    let thirdRan = false;
    const execution = await runMachine(
      {
        StartAt: 'First',
        States: {
          First: task('HalfFunctionArn', { ResultPath: '$.a', Next: 'Second' }),
          Second: task('HalfFunctionArn', { ResultPath: '$.b', Next: 'Third' }),
          Third: task('ThirdFunctionArn', { End: true }),
        },
      },
      {
        HalfFunctionArn: async () => 'x'.repeat(half),
        ThirdFunctionArn: async () => {
          thirdRan = true;
          return {};
        },
      },
    );
    expect(execution.status).toBe('FAILED');
    expect(execution.error?.Error).toBe('States.DataLimitExceeded');
    expect(execution.error?.Cause).toMatch(/output of state Second/);
    expect(thirdRan).toBe(false);
  });

  it('keeps results just under the limit', async () => {
    const execution = await runMachine(
      { StartAt: 'Work', States: { Work: task('WorkFunctionArn', { End: true }) } },
      // The JSON text {"blob":"..."} is 11 bytes more than the string.
      { WorkFunctionArn: async () => big(AWS_LIMITS.statePayloadBytes - 11) },
    );
    expect(execution.status).toBe('SUCCEEDED');
  });
});

describe("Lambda's synchronous response limit", () => {
  it('fails a response over 6 MB as Lambda does (Function.ResponseSizeTooLarge), which a Catch sees', async () => {
    let caught: unknown;
    const execution = await runMachine(
      {
        StartAt: 'Work',
        States: {
          Work: task('WorkFunctionArn', {
            Catch: [
              { ErrorEquals: ['Function.ResponseSizeTooLarge'], ResultPath: '$.error', Next: 'Recover' },
            ],
            End: true,
          }),
          Recover: task('RecoverFunctionArn', { End: true }),
        },
      },
      {
        WorkFunctionArn: async () => ({ blob: 'x'.repeat(AWS_LIMITS.lambdaResponseBytes) }),
        RecoverFunctionArn: async (input) => {
          caught = (input as { error: unknown }).error;
          return {};
        },
      },
    );
    expect(execution.status).toBe('SUCCEEDED');
    expect(caught).toMatchObject({ Error: 'Function.ResponseSizeTooLarge' });
    expect(JSON.stringify(caught)).toContain('maximum allowed payload size (6291556 bytes)');
  });
});

describe('EXPRESS children of a Distributed Map', () => {
  const mapMachine = (processor: Record<string, unknown>) => ({
    StartAt: 'Send',
    States: {
      Send: {
        Type: 'Map',
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' },
          Parameters: { Bucket: 'b', Key: 'k.csv' },
        },
        ItemBatcher: { MaxItemsPerBatch: 10, BatchInput: { campaignId: 'c1' } },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' },
          StartAt: 'Work',
          States: { Work: task('WorkFunctionArn', { ...processor, End: true }) },
        },
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Done' }],
        Next: 'Done',
      },
      Done: task('DoneFunctionArn', { End: true }),
    },
  });
  const serve = (csv: string) =>
    s3Mock.on(GetObjectCommand).callsFake(async () => ({ Body: Readable.from([csv]) }));

  it('times a child out with States.Timeout after its whole life, retries included', async () => {
    serve('email\na@x.com\n');
    let attempts = 0;
    let mapError: unknown;
    const execution = await runMachine(
      mapMachine({
        Retry: [{ ErrorEquals: ['SesThrottledError'], IntervalSeconds: 1, MaxAttempts: 10 }],
      }),
      {
        // Each attempt takes 100 ms and fails as retryable: the child's 300 ms run out after about three.
        WorkFunctionArn: async () => {
          attempts++;
          await new Promise((resolve) => setTimeout(resolve, 100));
          throw Object.assign(new Error('throttled'), { name: 'SesThrottledError' });
        },
        DoneFunctionArn: async (input) => {
          mapError = (input as { error?: unknown }).error;
          return {};
        },
      },
      { limits: { expressExecutionMs: 300 }, retryIntervalOverrides: { Work: 0 } },
    );
    expect(execution.status).toBe('SUCCEEDED');
    expect(mapError).toMatchObject({ Error: 'States.ExceedToleratedFailureThreshold' });
    expect(JSON.stringify(mapError)).toContain('States.Timeout');
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(5);
  });

  it("fails a child whose input (BatchInput and Items) is over the payload limit, and reports the child's own error", async () => {
    const rows = Array.from({ length: 10 }, (_, i) => `${i}@x.com,${'v'.repeat(1000)}`);
    serve(`email,pad\n${rows.join('\n')}\n`);
    let called = false;
    let mapError: unknown;
    await runMachine(
      mapMachine({}),
      {
        WorkFunctionArn: async () => {
          called = true;
          return {};
        },
        DoneFunctionArn: async (input) => {
          mapError = (input as { error?: unknown }).error;
          return {};
        },
      },
      { limits: { statePayloadBytes: 4096 } },
    );
    expect(called).toBe(false);
    expect(JSON.stringify(mapError)).toContain('States.DataLimitExceeded');
  });
});

describe('a handler called with JSON text (the sender pool) meets the same limits and errors', () => {
  /** The handler as the sender pool offers it: only its JSON form may be called. */
  const jsonOnly = (handler: TaskHandler): JsonTaskHandler =>
    Object.assign(
      async () => {
        throw new Error('the object form was called');
      },
      { json: async (request: string) => JSON.stringify((await handler(JSON.parse(request))) ?? null) },
    );
  const machine = {
    StartAt: 'Work',
    States: {
      Work: task('WorkFunctionArn', {
        Catch: [
          { ErrorEquals: ['Function.ResponseSizeTooLarge', 'Boom'], ResultPath: '$.error', Next: 'Done' },
        ],
        Next: 'Done',
      }),
      Done: { Type: 'Pass', End: true },
    },
  };
  const cases: [string, TaskHandler][] = [
    [
      'a result under the limit',
      async (input) => ({ echoed: input, n: [1, -0, 1.5e300], s: '\u2028 "é" \ud800' }),
    ],
    ['null', async () => undefined],
    ['a result over 256 KiB', async () => ({ blob: 'x'.repeat(AWS_LIMITS.statePayloadBytes) })],
    ['a response over 6 MB', async () => ({ blob: 'x'.repeat(AWS_LIMITS.lambdaResponseBytes) })],
    [
      'a named error',
      async () => {
        throw Object.assign(new Error('it broke'), { name: 'Boom' });
      },
    ],
  ];
  for (const [what, handler] of cases) {
    it(`${what}: the same execution either way`, async () => {
      const plain = await runMachine(machine, { WorkFunctionArn: handler });
      const json = await runMachine(machine, { WorkFunctionArn: jsonOnly(handler) });
      expect({ status: json.status, output: json.output, error: json.error }).toEqual({
        status: plain.status,
        output: plain.output,
        error: plain.error,
      });
    });
  }
});
