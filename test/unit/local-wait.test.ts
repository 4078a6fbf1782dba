/**
 * Long waits in the local engine, on a fake clock. Node's timers hold at most 2^31-1 ms (24.8 days) and
 * fire after 1 ms past that, so a Wait state the engine left to aws-local-stepfunctions (one timer) made a
 * campaign scheduled a month ahead start at once. The engine waits in slices (local/asl.ts rewriteWaits)
 * and ends each Wait at its time exactly; a Standard execution still ends after one year with
 * States.Timeout (TIMED_OUT), as AWS ends it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AWS_LIMITS } from '../../core/aws/limits.ts';
import { UnsupportedAslError } from '../../core/errors.ts';
import type { TaskHandler } from '../../handlers/runtime.ts';
import { ASL_PATH, loadDefinition, rewriteWaits } from '../../local/asl.ts';
import { LocalEngine, type LocalEngineOptions } from '../../local/engine.ts';
import { atTime, MAX_TIMER_MS } from '../../local/timers.ts';

const DAY = 86_400_000;
/** The ASL placeholder of the Send task's function, which the engine maps to its handler. */
const SEND = `\${SendFunctionArn}`;
const START = Date.parse('2026-12-01T09:00:00Z');
const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });

const dir = mkdtempSync(join(tmpdir(), 'sixback-wait-'));
let files = 0;
function engineFor(
  definition: unknown,
  handlers: Record<string, TaskHandler>,
  options: Partial<LocalEngineOptions> = {},
) {
  const path = join(dir, `machine-${files++}.asl.json`);
  writeFileSync(path, JSON.stringify(definition));
  return new LocalEngine({ handlers, s3, aslPath: path, ...options });
}

/** Wait (as `wait` says) then Send, which notes the time it ran at. */
function waitThenSend(wait: Record<string, unknown>) {
  const ranAt: number[] = [];
  const engine = engineFor(
    {
      StartAt: 'Hold',
      States: {
        Hold: { Type: 'Wait', ...wait, Next: 'Send' },
        Send: { Type: 'Task', Resource: SEND, End: true },
      },
    },
    {
      SendFunctionArn: async (input) => {
        ranAt.push(Date.now());
        return input;
      },
    },
  );
  return { engine, ranAt };
}

beforeEach(() => {
  // Timers and the clock are fake; setImmediate stays real, as the engine yields with it before a Task.
  vi.useFakeTimers({ now: START, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Moves the fake clock to `at`, running every timer due on the way. */
async function clockTo(at: number) {
  await vi.advanceTimersByTimeAsync(at - Date.now());
}

describe('a Wait state longer than a Node timer holds', () => {
  it.each([30, 90, 364])(
    'waits until a sendAt %i days ahead, to the millisecond, not at once',
    async (days) => {
      const sendAt = START + days * DAY;
      const { engine, ranAt } = waitThenSend({ TimestampPath: '$.sendAt' });
      const { executionArn } = await engine.start(`in-${days}-days`, {
        campaignId: 'c1',
        sendAt: new Date(sendAt).toISOString(),
      } as never);
      await clockTo(START + 1000);
      expect(ranAt).toEqual([]);
      await clockTo(sendAt - 1);
      expect(ranAt).toEqual([]);
      expect(await engine.status(executionArn)).toBe('RUNNING');
      await clockTo(sendAt);
      const execution = await engine.wait(executionArn);
      expect(execution.status).toBe('SUCCEEDED');
      expect(ranAt).toEqual([sendAt]);
    },
  );

  it('reads Seconds from the state start, and a Timestamp to the millisecond', async () => {
    const seconds = waitThenSend({ Seconds: 40 * 86_400 });
    const { executionArn } = await seconds.engine.start('forty-days', { campaignId: 'c1' } as never);
    await clockTo(START + 40 * DAY - 1);
    expect(seconds.ranAt).toEqual([]);
    await clockTo(START + 40 * DAY);
    await seconds.engine.wait(executionArn);
    expect(seconds.ranAt).toEqual([START + 40 * DAY]);

    const at = Date.now() + 50 * DAY;
    const stamp = waitThenSend({ Timestamp: new Date(at + 750).toISOString() });
    const second = await stamp.engine.start('fifty-days', { campaignId: 'c1' } as never);
    await clockTo(at + 749);
    expect(stamp.ranAt).toEqual([]);
    await clockTo(at + 750);
    await stamp.engine.wait(second.executionArn);
    expect(stamp.ranAt).toEqual([at + 750]);
  });

  it('counts a Wait of many slices as the two history events AWS writes for it', async () => {
    // ExecutionStarted 1 + Wait 2 + Task 5 + ExecutionSucceeded 1 = 9: a 90-day wait (5 slices) fits in 9.
    const ranAt: number[] = [];
    const engine = engineFor(
      {
        StartAt: 'Hold',
        States: {
          Hold: { Type: 'Wait', Seconds: 90 * 86_400, Next: 'Send' },
          Send: { Type: 'Task', Resource: SEND, End: true },
        },
      },
      { SendFunctionArn: async () => ranAt.push(Date.now()) },
      { limits: { standardHistoryEvents: 9 } },
    );
    const { executionArn } = await engine.start('counted', { campaignId: 'c1' } as never);
    await clockTo(START + 90 * DAY);
    expect((await engine.wait(executionArn)).status).toBe('SUCCEEDED');
    expect(ranAt).toEqual([START + 90 * DAY]);
  });

  it('stops a long wait at once, leaving no timer behind', async () => {
    const { engine, ranAt } = waitThenSend({ Seconds: 200 * 86_400 });
    const { executionArn } = await engine.start('stopped', { campaignId: 'c1' } as never);
    await clockTo(START + 45 * DAY);
    await engine.stop(executionArn, 'cancelled');
    expect(await engine.status(executionArn)).toBe('ABORTED');
    await clockTo(START + 300 * DAY);
    expect(ranAt).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("a Standard execution's year", () => {
  it('times out a wait past one year with States.Timeout at exactly one year, running nothing after it', async () => {
    const { engine, ranAt } = waitThenSend({ TimestampPath: '$.sendAt' });
    const { executionArn } = await engine.start('too-far', {
      campaignId: 'c1',
      sendAt: new Date(START + 400 * DAY).toISOString(),
    } as never);
    await clockTo(START + AWS_LIMITS.standardExecutionMs - 1);
    expect(await engine.status(executionArn)).toBe('RUNNING');
    await clockTo(START + AWS_LIMITS.standardExecutionMs);
    const execution = await engine.wait(executionArn);
    expect(execution.status).toBe('TIMED_OUT');
    expect(execution.error?.Error).toBe('States.Timeout');
    expect(execution.stopDate?.getTime()).toBe(START + AWS_LIMITS.standardExecutionMs);
    await clockTo(START + 500 * DAY);
    expect(ranAt).toEqual([]);
  });

  it("keeps the definition's own TimeoutSeconds, however long, instead of handing it to one timer", async () => {
    const engine = engineFor(
      {
        StartAt: 'Hold',
        TimeoutSeconds: 60 * 86_400,
        States: { Hold: { Type: 'Wait', Seconds: 100 * 86_400, End: true } },
      },
      {},
    );
    const { executionArn } = await engine.start('sixty-days', { campaignId: 'c1' } as never);
    await clockTo(START + 60 * DAY - 1);
    expect(await engine.status(executionArn)).toBe('RUNNING');
    await clockTo(START + 60 * DAY);
    expect((await engine.wait(executionArn)).status).toBe('TIMED_OUT');
  });
});

describe('the campaign state machine', () => {
  it('has every Wait state run by the engine, none left to the library', () => {
    const raw = loadDefinition((name) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`, ASL_PATH);
    const { definition, waits } = rewriteWaits(raw);
    expect(Object.keys(waits).sort()).toEqual(['WaitForDecision', 'WaitUntilSendTime']);
    expect(Object.values(definition.States).filter((s) => s.Type === 'Wait')).toEqual([]);
  });

  it('refuses a Task timeout longer than a timer holds, rather than timing it out at once', () => {
    expect(() =>
      engineFor(
        {
          StartAt: 'Work',
          States: {
            Work: { Type: 'Task', Resource: SEND, TimeoutSeconds: 30 * 86_400, End: true },
          },
        },
        { SendFunctionArn: async () => ({}) },
      ),
    ).toThrow(UnsupportedAslError);
  });
});

describe('atTime', () => {
  it('fires at the time asked for any delay, a Node timer or many', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 4 * MAX_TIMER_MS }), async (delay) => {
        const due = Date.now() + delay;
        let firedAt: number | undefined;
        atTime(due, () => {
          firedAt = Date.now();
        });
        await vi.advanceTimersByTimeAsync(Math.max(0, delay - 1));
        if (delay > 0) expect(firedAt).toBeUndefined();
        await vi.advanceTimersByTimeAsync(1);
        expect(firedAt).toBe(due);
      }),
      { numRuns: 50 },
    );
  });
});
