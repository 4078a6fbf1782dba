/**
 * Refreshing a view while what it shows can still change: runs `run`, then again `intervalMs` after each
 * run ends for as long as `keepGoing()` says so, never two runs at once, and never again once `signal`
 * aborts (the console aborts a screen's signal when the user leaves it): no timer or request outlives the
 * page. `kick()` runs at once (a Refresh button, a campaign that starts sending again) unless a run is
 * under way.
 */
export interface RefreshOptions {
  intervalMs: number;
  signal: AbortSignal;
  keepGoing: () => boolean;
  /** Called with what a run threw; the loop goes on (a passing network error should not end the refresh). */
  onError?: (error: unknown) => void;
}

export interface Refresh {
  kick(): void;
  /** Whether a next run is scheduled. */
  readonly scheduled: boolean;
}

export function refreshLoop(run: () => Promise<void>, options: RefreshOptions): Refresh {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  const cancel = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  options.signal.addEventListener('abort', cancel, { once: true });

  const once = async () => {
    cancel();
    if (options.signal.aborted || running) return;
    running = true;
    try {
      await run();
    } catch (error) {
      if (!options.signal.aborted) options.onError?.(error);
    } finally {
      running = false;
    }
    if (!options.signal.aborted && options.keepGoing()) {
      timer = setTimeout(() => void once(), options.intervalMs);
    }
  };

  void once();
  return {
    kick: () => void once(),
    get scheduled() {
      return timer !== undefined;
    },
  };
}
