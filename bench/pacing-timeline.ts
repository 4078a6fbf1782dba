/**
 * Where a paced run's rate goes: from the stand-in's acceptances per 100 ms and each Map child's (batch's)
 * first and last acceptance, the rate per second as a fraction of the limit, how many children were
 * sending in each 100 ms (a slot between one child's last send and the next child's first is idle), and
 * how fast a child sent while it was sending.
 */
import type { StandinSummary } from './standin.ts';

export interface PacingTimeline {
  /** Accepted in each whole second from the first acceptance, divided by the limit. */
  perSecondFraction: number[];
  /** The same without the first and the last second (ramp-up and tail). */
  steadyFraction: number;
  /** Mean children sending per 100 ms, divided by the planned concurrency. */
  occupancy: number;
  /** A child's rate between its first and last acceptance, divided by its share (median over children). */
  childRateToShare: number;
  /** Median milliseconds from one child's last acceptance to the next first acceptance of a later batch,
   * per slot freed (an estimate: the Map starts batches in order). */
  medianSwitchMs: number;
  children: number;
  /** The first 30 intervals: [accepted, children sending]. */
  head: [number, number][];
}

export function pacingTimeline(
  summary: Pick<StandinSummary, 'intervals' | 'batches'>,
  limit: number,
  concurrency: number,
): PacingTimeline {
  const { startMs, intervalMs, counts } = summary.intervals;
  const perSecond: number[] = [];
  const perWindow = Math.round(1000 / intervalMs);
  for (let i = 0; i + perWindow <= counts.length; i += perWindow) {
    let sum = 0;
    for (let j = i; j < i + perWindow; j++) sum += counts[j] ?? 0;
    perSecond.push(sum / limit);
  }
  const steady = perSecond.slice(1, -1);
  const active = new Array<number>(counts.length).fill(0);
  const batches = [...summary.batches].sort((a, b) => a[0] - b[0]);
  const childRates: number[] = [];
  const share = limit / concurrency;
  for (const [first, last, n] of batches) {
    const a = Math.max(0, Math.floor((first - startMs) / intervalMs));
    const b = Math.min(counts.length - 1, Math.floor((last - startMs) / intervalMs));
    for (let s = a; s <= b; s++) active[s] = (active[s] ?? 0) + 1;
    if (last > first && n > 10) childRates.push(((n - 1) * 1000) / (last - first) / share);
  }
  // Batch k + concurrency takes the slot batch k freed (in order, which the local Map and AWS's roughly do).
  const switches: number[] = [];
  const ends = batches.map((b) => b[1]).sort((x, y) => x - y);
  for (let k = 0; k + concurrency < batches.length; k++)
    switches.push((batches[k + concurrency] as [number, number, number])[0] - (ends[k] as number));
  const inner = active.slice(perWindow, -perWindow);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((x, y) => x - y);
    return sorted.length ? (sorted[Math.floor(sorted.length / 2)] as number) : 0;
  };
  return {
    perSecondFraction: perSecond.map((f) => Math.round(f * 1000) / 1000),
    steadyFraction: mean(steady),
    occupancy: mean(inner.length ? inner : active) / concurrency,
    childRateToShare: median(childRates),
    medianSwitchMs: median(switches),
    children: batches.length,
    head: counts.slice(0, 30).map((c, i) => [c, active[i] ?? 0]),
  };
}

/**
 * Each Map child's first row, from the prepared file (CSV `row,state,email,note,vars`, every field URL- or
 * base64url-encoded, so no quoting) and the plan: the local Map's batcher replayed (bytes of each item as
 * the ItemSelector builds it, plus a comma, within MaxInputBytesPerBatch and MaxItemsPerBatch), since a
 * batch ends at whichever limit comes first.
 */
export function batchStarts(
  preparedCsv: string,
  plan: { batchSize: number; maxInputBytesPerBatch: number },
): number[] {
  const lines = preparedCsv.split('\n');
  const header = (lines[0] ?? '').split(',');
  const starts: number[] = [];
  const envelope = 2;
  let bytes = envelope;
  let count = 0;
  for (let index = 0; index + 1 < lines.length; index++) {
    const line = lines[index + 1] as string;
    if (line === '') continue;
    const fields = line.split(',');
    const row = Object.fromEntries(header.map((name, k) => [name, fields[k] ?? '']));
    const size = Buffer.byteLength(JSON.stringify({ index, row })) + 1;
    if (count === 0 || bytes + size > plan.maxInputBytesPerBatch || count >= plan.batchSize) {
      starts.push(index);
      bytes = envelope;
      count = 0;
    }
    bytes += size;
    count++;
  }
  return starts;
}
