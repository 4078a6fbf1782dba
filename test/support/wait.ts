/**
 * Waiting in tests without fixed sleeps: poll for the condition the assertion needs, and when it does not
 * come, fail saying what was awaited (and what was last seen) instead of asserting on a half-done state.
 */

type Falsy = undefined | null | false;

/**
 * Polls `probe` until it returns a value other than undefined, null or false, and returns that value.
 * Throws `Timed out after N ms waiting for <what>` past `timeoutMs`.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | Falsy> | T | Falsy,
  timeoutMs = 60_000,
  everyMs = 50,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value as T;
    if (Date.now() > until) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Reads until `holds` is true of what was read, and returns it; the timeout message carries the last
 * value read, which is usually what explains the failure.
 */
export async function waitUntil<T>(
  what: string,
  read: () => Promise<T> | T,
  holds: (value: T) => boolean,
  timeoutMs = 20_000,
  everyMs = 25,
): Promise<T> {
  let last: T | undefined;
  try {
    return await waitFor(
      what,
      async () => {
        last = await read();
        return holds(last) ? { value: last } : undefined;
      },
      timeoutMs,
      everyMs,
    ).then((found) => found.value);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('Timed out'))
      error.message += `; last seen: ${JSON.stringify(last)?.slice(0, 2000)}`;
    throw error;
  }
}

/**
 * Resolves once every promise continuation already queued has run, and those they queue in turn: Node
 * drains the whole microtask queue before it runs an immediate. Code that waits only on promises (no
 * timer, no I/O) has then gone as far as it can go, so asserting that it did NOT go further is
 * deterministic, not a guess about how long "long enough" is.
 */
export function afterPendingPromises(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
