/**
 * Does the per-child rate limiter hold its rate when its event loop is busy? One limiter at RATE/s, 16
 * senders each taking a slot and then "sending" (an await of a resolved promise plus BUSY_US of CPU, as a
 * sender's per-email work), while the loop also runs other work: the achieved rate against the target.
 *   npx tsx bench/limiter-probe.ts [rate] [busyUs] [children] [maxLateMs]
 * (maxLateMs: how late a release may be and keep to the grid; default the limiter's own, min(interval / 2, 5 ms))
 */
import { AdaptiveRateLimiter } from '../core/sending/rate-limiter.ts';

const RATE = Number(process.argv[2] ?? 1000);
const BUSY_US = Number(process.argv[3] ?? 100);
const CHILDREN = Number(process.argv[4] ?? 3);
const MAX_LATE_MS = process.argv[5] === undefined ? undefined : Number(process.argv[5]);
const SECONDS = 3;
const spin = (us: number) => {
  const until = performance.now() + us / 1000;
  while (performance.now() < until) {
    // CPU work standing in for render, sign and the socket write.
  }
};
const counts: number[] = [];
await Promise.all(
  Array.from({ length: CHILDREN }, async (_, c) => {
    const limiter = new AdaptiveRateLimiter(
      RATE,
      MAX_LATE_MS === undefined ? {} : { maxLateMs: MAX_LATE_MS },
    );
    counts[c] = 0;
    const end = performance.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (performance.now() < end) {
          await limiter.acquire();
          spin(BUSY_US);
          await new Promise((resolve) => setImmediate(resolve));
          counts[c] = (counts[c] as number) + 1;
        }
      }),
    );
    limiter.close();
  }),
);
const rates = counts.map((n) => Math.round(n / SECONDS));
console.log(
  `rate ${RATE}/s, maxLateMs ${MAX_LATE_MS ?? 'default'}, ${BUSY_US} us of work per send, ${CHILDREN} children in one thread: ${rates.join(', ')} per child (${(rates.reduce((a, b) => a + b, 0) / (RATE * CHILDREN)).toFixed(2)} of the target); thread busy about ${Math.round((rates.reduce((a, b) => a + b, 0) * BUSY_US) / 10_000)}%`,
);
