/**
 * The tests' pollers (test/support/wait.ts): they return what the probe found once it holds, and when it
 * never does they fail naming what was awaited (and what was last seen) rather than returning quietly.
 */
import { describe, expect, it } from 'vitest';
import { afterPendingPromises, waitFor, waitUntil } from '../support/wait.ts';

describe('waitFor', () => {
  it('returns the first value the probe finds, polling until then', async () => {
    let calls = 0;
    const found = await waitFor('the third call', () => (++calls >= 3 ? { calls } : undefined), 5000, 1);
    expect(found).toEqual({ calls: 3 });
  });

  it('fails naming what it waited for when the probe never holds', async () => {
    await expect(waitFor('the moon', () => false, 30, 5)).rejects.toThrow(
      'Timed out after 30 ms waiting for the moon',
    );
  });
});

describe('waitUntil', () => {
  it('fails with the last value it read', async () => {
    let n = 0;
    await expect(
      waitUntil(
        'n to reach 1000',
        () => ++n,
        (v) => v >= 1000,
        30,
        5,
      ),
    ).rejects.toThrow(/waiting for n to reach 1000; last seen: \d+$/);
  });
});

describe('afterPendingPromises', () => {
  it('resolves only after a chain of promise continuations has run to its end', async () => {
    let steps = 0;
    const chain = async () => {
      for (let i = 0; i < 1000; i++) {
        await Promise.resolve();
        steps++;
      }
    };
    void chain();
    await afterPendingPromises();
    expect(steps).toBe(1000);
  });
});
