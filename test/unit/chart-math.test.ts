/**
 * The campaign page's chart arithmetic (web/src/components/chart-math.ts) on generated inputs: count
 * axes, scales, the filled series, bucket labels in a zone, the chart's geometry, and the funnel taken
 * from stats that core's own stats function computed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { campaignStats, type SeriesPoint } from '../../core/compliance/stats.ts';
import {
  bucketTime,
  CHART_SERIES,
  chartGeometry,
  DEFAULT_CHART_SIZE,
  denseSeries,
  funnelSteps,
  HOUR_MS,
  linearScale,
  MINUTE_MS,
  niceTicks,
} from '../../web/src/components/chart-math.ts';

const T0 = Date.parse('2026-12-01T09:00:00.000Z');
const count = fc.nat({ max: 50_000 });

/** A series as the API gives it: distinct minute buckets, then distinct hour buckets, any counts. */
const seriesPoints = fc
  .tuple(
    fc.uniqueArray(fc.nat({ max: 6 * 60 - 1 }), { maxLength: 40 }),
    fc.uniqueArray(fc.integer({ min: 6, max: 80 }), { maxLength: 20 }),
    fc.array(fc.tuple(count, count, count, count, count, count, count, count), {
      minLength: 60,
      maxLength: 60,
    }),
  )
  .map(([minutes, hours, values]) => {
    const point = (start: number, resolution: SeriesPoint['resolution'], i: number): SeriesPoint => {
      const [sent, delivered, bouncedHard, bouncedSoft, complained, opened, clicked, unsubscribed] = values[
        i % values.length
      ] as number[];
      return {
        start: new Date(start).toISOString(),
        resolution,
        sent: sent ?? 0,
        delivered: delivered ?? 0,
        bouncedHard: bouncedHard ?? 0,
        bouncedSoft: bouncedSoft ?? 0,
        complained: complained ?? 0,
        opened: opened ?? 0,
        clicked: clicked ?? 0,
        unsubscribed: unsubscribed ?? 0,
      };
    };
    const points = [
      ...minutes.map((m, i) => point(T0 + m * MINUTE_MS, 'minute', i)),
      ...hours.map((hr, i) => point(T0 + hr * HOUR_MS, 'hour', i + 7)),
    ];
    // The API sorts by start, which mixes the two resolutions around the sixth hour.
    return points.sort((a, b) => (a.start < b.start ? -1 : 1));
  });

describe('niceTicks', () => {
  it('covers 0..max with evenly spaced integer steps of 1, 2 or 5 times a power of ten', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        fc.integer({ min: 2, max: 10 }),
        (max, target) => {
          const ticks = niceTicks(max, target);
          expect(ticks[0]).toBe(0);
          expect(ticks.length).toBeGreaterThanOrEqual(2);
          const step = (ticks[1] as number) - (ticks[0] as number);
          expect(Number.isInteger(step) && step >= 1).toBe(true);
          const mantissa = step / 10 ** Math.floor(Math.log10(step));
          expect([1, 2, 5]).toContain(Math.round(mantissa * 1e9) / 1e9);
          expect(ticks).toEqual(ticks.map((_, i) => i * step));
          const last = ticks[ticks.length - 1] as number;
          // Reaches the maximum, and not a whole step past it.
          expect(last).toBeGreaterThanOrEqual(max);
          expect(last - step).toBeLessThan(Math.max(1, Math.ceil(max)));
          expect(ticks.length - 1).toBeLessThanOrEqual(2 * target + 1);
        },
      ),
    );
  });
});

describe('linearScale', () => {
  it('maps the domain onto the range, in order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1000, max: 1000 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 1, max: 500 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (d0, span, r0, height, f) => {
          const scale = linearScale([d0, d0 + span], [r0 + height, r0]);
          expect(scale(d0)).toBeCloseTo(r0 + height, 9);
          expect(scale(d0 + span)).toBeCloseTo(r0, 9);
          expect(scale(d0 + f * span)).toBeCloseTo(r0 + height - f * height, 6);
        },
      ),
    );
  });
});

describe('denseSeries', () => {
  it('keeps every API point as it is, minutes first, and fills each gap with zero buckets', () => {
    fc.assert(
      fc.property(seriesPoints, (points) => {
        const dense = denseSeries(points);
        const kept = dense.filter((b) => !b.filled).map((b) => b.point);
        expect([...kept].sort((a, b) => (a.start < b.start ? -1 : 1))).toEqual(
          [...points].sort((a, b) => (a.start < b.start ? -1 : 1)),
        );
        const firstHour = dense.findIndex((b) => b.point.resolution === 'hour');
        if (firstHour >= 0)
          expect(dense.slice(firstHour).every((b) => b.point.resolution === 'hour')).toBe(true);
        const steps = dense.slice(1).flatMap((b, i) => {
          const a = (dense[i] as (typeof dense)[number]).point;
          if (a.resolution !== b.point.resolution) return [];
          return [
            Date.parse(b.point.start) - Date.parse(a.start) ===
              (a.resolution === 'minute' ? MINUTE_MS : HOUR_MS),
          ];
        });
        expect(steps.every(Boolean)).toBe(true);
        for (const b of dense.filter((d) => d.filled))
          expect(CHART_SERIES.map((s) => s.value(b.point)).concat(b.point.sent)).toEqual([0, 0, 0, 0, 0]);
      }),
    );
  });
});

describe('bucket labels', () => {
  it('show the hour and minute of the start in the zone asked for', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true }),
        (d) => {
          const iso = d.toISOString();
          expect(bucketTime(iso, 'UTC')).toBe(iso.slice(11, 16));
          // India is UTC+05:30 all year (no daylight saving).
          expect(bucketTime(iso, 'Asia/Kolkata')).toBe(
            new Date(d.getTime() + 5.5 * HOUR_MS).toISOString().slice(11, 16),
          );
        },
      ),
    );
  });
});

describe('chartGeometry', () => {
  it('puts one marker per API point and series, at the height its count reads on the axis', () => {
    fc.assert(
      fc.property(seriesPoints, (points) => {
        const g = chartGeometry(points, DEFAULT_CHART_SIZE, 'UTC');
        const zero = g.yTicks[0] as { value: number; y: number };
        const top = g.yTicks[g.yTicks.length - 1] as { value: number; y: number };
        expect(zero).toEqual({ value: 0, y: g.plot.bottom });
        expect(top.y).toBe(g.plot.top);
        for (const [i, line] of g.series.entries()) {
          const spec = CHART_SERIES[i] as (typeof CHART_SERIES)[number];
          expect(line.markers.map((m) => [m.start, m.value]).sort()).toEqual(
            points.map((p) => [p.start, spec.value(p)]).sort(),
          );
          // Read back from the axis: the value each marker's height stands for, and where it sits.
          const off = line.markers.filter(
            (m) =>
              m.value > top.value ||
              Math.abs(((zero.y - m.y) / (zero.y - top.y)) * top.value - m.value) > 1e-6 ||
              m.x < g.plot.left ||
              m.x > g.plot.right,
          );
          expect(off).toEqual([]);
          expect(line.line).toHaveLength(g.buckets.length);
        }
        expect(g.xs.every((x, i) => i === 0 || x > (g.xs[i - 1] as number))).toBe(true);
        expect(g.hourFrom !== null).toBe(
          points.some((p) => p.resolution === 'minute') && points.some((p) => p.resolution === 'hour'),
        );
      }),
    );
  });
});

describe('funnelSteps', () => {
  it("takes each step's recipients and rate from core's stats", () => {
    fc.assert(
      fc.property(
        fc.record({
          uniqueDelivery: count,
          uniqueOpen: count,
          open: count,
          uniqueClick: count,
          click: count,
          uniqueHardBounce: count,
        }),
        count,
        (events, sentCount) => {
          const stats = campaignStats(
            {
              id: 'c1',
              progress: { sent: sentCount } as never,
              totals: undefined,
              startedAt: new Date(T0).toISOString(),
              events: { open: events.open, click: events.click },
              uniqueEvents: events,
            } as never,
            [],
            new Date(T0),
          );
          const steps = funnelSteps(stats);
          expect(steps.map((s) => s.key)).toEqual(['sent', 'delivered', 'opened', 'clicked']);
          expect(steps.map((s) => s.count)).toEqual([
            stats.sent,
            stats.counts.delivered,
            stats.counts.opened.unique,
            stats.counts.clicked.unique,
          ]);
          expect(steps.map((s) => s.rate)).toEqual([
            null,
            stats.rates.delivery,
            stats.rates.open,
            stats.rates.click,
          ]);
          expect(steps.map((s) => s.total)).toEqual([
            null,
            null,
            stats.counts.opened.total,
            stats.counts.clicked.total,
          ]);
          for (const s of steps) {
            expect(s.share).toBeGreaterThanOrEqual(0);
            expect(s.share).toBeLessThanOrEqual(1);
            if (stats.sent > 0 && s.count <= stats.sent) expect(s.share).toBeCloseTo(s.count / stats.sent, 9);
          }
        },
      ),
    );
  });
});
