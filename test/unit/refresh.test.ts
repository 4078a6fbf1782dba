/**
 * The campaign page's refresh loop (web/src/components/refresh.ts) on a fake clock: it runs while
 * `keepGoing` says so and then stops, never runs twice at once, goes on after a failed run, and leaves
 * no timer once the page's signal aborts (the user left the page).
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { refreshLoop } from '../../web/src/components/refresh.ts';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('refreshLoop', () => {
  it('runs once, then once per interval while keepGoing holds, then stops with no timer left', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { maxLength: 12 }),
        fc.integer({ min: 10, max: 5000 }),
        async (answers, intervalMs) => {
          vi.clearAllTimers();
          let runs = 0;
          let asked = 0;
          // keepGoing answers true until the first false in `answers` (or the list runs out).
          const stopAt = answers.indexOf(false) === -1 ? answers.length : answers.indexOf(false);
          const loop = refreshLoop(
            async () => {
              runs++;
            },
            { intervalMs, signal: new AbortController().signal, keepGoing: () => asked++ < stopAt },
          );
          for (let i = 0; i <= answers.length + 1; i++) await vi.advanceTimersByTimeAsync(intervalMs);
          expect(runs).toBe(stopAt + 1);
          expect(loop.scheduled).toBe(false);
          expect(vi.getTimerCount()).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('stops at once when the signal aborts, even with a run under way, and starts nothing after', async () => {
    const controller = new AbortController();
    let runs = 0;
    let release: (() => void) | undefined;
    const loop = refreshLoop(
      () => {
        runs++;
        return new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      { intervalMs: 1000, signal: controller.signal, keepGoing: () => true },
    );
    expect(runs).toBe(1);
    controller.abort();
    release?.();
    await vi.advanceTimersByTimeAsync(10_000);
    loop.kick();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('goes on after a failed run and reports the error; kick does not overlap a run', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    let inFlight = 0;
    let most = 0;
    const controller = new AbortController();
    const loop = refreshLoop(
      async () => {
        runs++;
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 50));
        inFlight--;
        if (runs === 1) throw new Error('network down');
      },
      {
        intervalMs: 100,
        signal: controller.signal,
        keepGoing: () => runs < 3,
        onError: (e) => errors.push(e),
      },
    );
    loop.kick();
    loop.kick();
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toBe(3);
    expect(most).toBe(1);
    expect(errors).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
