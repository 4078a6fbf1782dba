/**
 * Timers that hold any delay. Node keeps a timer's delay in a signed 32-bit integer: anything longer than
 * MAX_TIMER_MS (2^31-1 ms, about 24.8 days) fires after 1 ms instead, with a TimeoutOverflowWarning. A
 * campaign scheduled a month ahead would start at once. These re-arm a timer of at most MAX_TIMER_MS
 * against an absolute time, reading the clock at each step, so they end at the time asked whatever the
 * delay and whatever clock drives the timers (a fake one in the tests).
 */

export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimer {
  clear(): void;
}

/** Calls `fn` at `deadline` (milliseconds since the epoch), however far ahead; at once if it has passed. */
export function atTime(deadline: number, fn: () => void): LongTimer {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    const remaining = Math.max(0, deadline - Date.now());
    timer = remaining > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(fn, remaining);
  };
  arm();
  return {
    clear() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** Resolves at `deadline`, or rejects with the signal's reason as soon as it aborts. */
export function sleepUntil(deadline: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      timer.clear();
      reject(signal?.reason);
    };
    const timer = atTime(deadline, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
