/**
 * The arithmetic behind the campaign page's analytics, kept free of the DOM so it can be tested on its
 * own: count axes with round ticks, linear scales, the time series with its empty buckets filled in, the
 * labels of buckets, and the chart's geometry. Everything here takes the stats as the API returns them
 * (core/compliance/stats.ts) and never recomputes a count.
 */
import type { CampaignStats, SeriesPoint } from '../../../core/compliance/stats.ts';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
/** Above this many buckets the gaps are not filled (a series of minutes over days: no start time known). */
export const MAX_DENSE_POINTS = 2_000;

/**
 * Ticks for a count axis from 0 to at least `max`: integers, evenly spaced by 1, 2 or 5 times a power of
 * ten, about `target` intervals. An empty axis (max 0) still gets 0 and 1.
 */
export function niceTicks(max: number, target = 5): number[] {
  const top = Math.max(1, Math.ceil(Number.isFinite(max) ? max : 0));
  const rough = top / Math.max(1, target);
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power);
  const ticks: number[] = [];
  for (let t = 0; t < top + step; t += step) {
    ticks.push(t);
    if (t >= top) break;
  }
  return ticks;
}

/** A linear map from a domain onto a range (a flat domain maps everything to the range's start). */
export function linearScale(domain: [number, number], range: [number, number]): (value: number) => number {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  return (value) => (span === 0 ? r0 : r0 + ((value - d0) / span) * (r1 - r0));
}

/** The chart's four lines, the field each reads and its label. Bounced is hard plus soft bounce events. */
export const CHART_SERIES = [
  { key: 'delivered', label: 'Delivered', value: (p: SeriesPoint) => p.delivered },
  { key: 'opened', label: 'Opened', value: (p: SeriesPoint) => p.opened },
  { key: 'clicked', label: 'Clicked', value: (p: SeriesPoint) => p.clicked },
  { key: 'bounced', label: 'Bounced', value: (p: SeriesPoint) => p.bouncedHard + p.bouncedSoft },
] as const;
export type ChartSeriesKey = (typeof CHART_SERIES)[number]['key'];

/** A bucket of the filled series: an API point, or an empty bucket between two of them (`filled`). */
export interface DenseBucket {
  point: SeriesPoint;
  filled: boolean;
}

const emptyPoint = (start: number, resolution: SeriesPoint['resolution']): SeriesPoint => ({
  start: new Date(start).toISOString(),
  resolution,
  sent: 0,
  delivered: 0,
  bouncedHard: 0,
  bouncedSoft: 0,
  complained: 0,
  opened: 0,
  clicked: 0,
  unsubscribed: 0,
});

const byStart = (a: SeriesPoint, b: SeriesPoint) => Date.parse(a.start) - Date.parse(b.start);

/**
 * The API's points in the chart's order, minute buckets first and hour buckets after (the API sorts by
 * start time, and the first hour bucket can start before the last minute bucket: minutes run for 6 hours
 * from the campaign's start, not to a full hour).
 */
export function orderedPoints(points: readonly SeriesPoint[]): SeriesPoint[] {
  const minutes = points.filter((p) => p.resolution === 'minute').sort(byStart);
  const hours = points.filter((p) => p.resolution === 'hour').sort(byStart);
  return [...minutes, ...hours];
}

/**
 * The series with every bucket between the first and the last of each resolution: a minute (or hour)
 * with no events is a zero, not a line drawn straight across it. The API's points are kept as they are.
 */
export function denseSeries(points: readonly SeriesPoint[]): DenseBucket[] {
  const ordered = orderedPoints(points);
  const out: DenseBucket[] = [];
  for (const resolution of ['minute', 'hour'] as const) {
    const own = ordered.filter((p) => p.resolution === resolution);
    const first = own[0];
    const last = own[own.length - 1];
    if (!first || !last) continue;
    const step = resolution === 'minute' ? MINUTE_MS : HOUR_MS;
    const from = Date.parse(first.start);
    const count = Math.floor((Date.parse(last.start) - from) / step) + 1;
    if (count > MAX_DENSE_POINTS || own.some((p) => (Date.parse(p.start) - from) % step !== 0)) {
      out.push(...own.map((point) => ({ point, filled: false })));
      continue;
    }
    const at = new Map(own.map((p) => [Date.parse(p.start), p]));
    for (let i = 0; i < count; i++) {
      const t = from + i * step;
      const point = at.get(t);
      out.push(point ? { point, filled: false } : { point: emptyPoint(t, resolution), filled: true });
    }
  }
  return out;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** One formatter per kind and zone: building one costs far more than formatting with it. */
function formatter(kind: 'time' | 'day', timeZone: string | undefined): Intl.DateTimeFormat {
  const key = `${kind} ${timeZone ?? ''}`;
  let f = formatters.get(key);
  if (!f) {
    const zone = timeZone ? { timeZone } : {};
    f = new Intl.DateTimeFormat(
      'en-GB',
      kind === 'time'
        ? { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', ...zone }
        : { day: 'numeric', month: 'short', ...zone },
    );
    formatters.set(key, f);
  }
  return f;
}

/** The hour and minute of a bucket's start in a zone ("09:05"; an hour bucket "15:00"). */
export const bucketTime = (start: string, timeZone?: string) =>
  formatter('time', timeZone).format(new Date(start));

/** The day of a bucket's start in a zone ("1 Dec"). */
export const bucketDay = (start: string, timeZone?: string) =>
  formatter('day', timeZone).format(new Date(start));

/** What a bucket covers, for the data table: "1 Dec 09:05, 1 minute" or "1 Dec 15:00, 1 hour". */
export function bucketLabel(point: Pick<SeriesPoint, 'start' | 'resolution'>, timeZone?: string): string {
  return `${bucketDay(point.start, timeZone)} ${bucketTime(point.start, timeZone)}, 1 ${point.resolution}`;
}

export interface ChartGeometry {
  width: number;
  height: number;
  plot: { left: number; right: number; top: number; bottom: number };
  buckets: DenseBucket[];
  /** x of each bucket, in the order of `buckets`. */
  xs: number[];
  yTicks: { value: number; y: number }[];
  /** Time labels under the axis, with the day where it changes. */
  xTicks: { x: number; time: string; day: string | null }[];
  series: {
    key: ChartSeriesKey;
    label: string;
    /** Every bucket's point, for the line. */
    line: { x: number; y: number }[];
    /** The API's points only: the markers. */
    markers: { x: number; y: number; value: number; start: string; resolution: SeriesPoint['resolution'] }[];
  }[];
  /** Where the buckets turn from minutes to hours, when the series has both. */
  hourFrom: { x: number; start: string } | null;
}

export interface ChartSize {
  width: number;
  height: number;
  margin: { left: number; right: number; top: number; bottom: number };
  /** About how many time labels under the axis. */
  xLabels: number;
}

export const DEFAULT_CHART_SIZE: ChartSize = {
  width: 960,
  height: 300,
  margin: { left: 62, right: 16, top: 14, bottom: 44 },
  xLabels: 6,
};

/** Where everything of the chart goes: a pure function of the stats' series and the chart's size. */
export function chartGeometry(
  points: readonly SeriesPoint[],
  size: ChartSize = DEFAULT_CHART_SIZE,
  timeZone?: string,
): ChartGeometry {
  const plot = {
    left: size.margin.left,
    right: size.width - size.margin.right,
    top: size.margin.top,
    bottom: size.height - size.margin.bottom,
  };
  const buckets = denseSeries(points);
  const max = Math.max(0, ...buckets.flatMap((b) => CHART_SERIES.map((s) => s.value(b.point))));
  const yTicks = niceTicks(max);
  const y = linearScale([0, yTicks[yTicks.length - 1] ?? 1], [plot.bottom, plot.top]);
  // One bucket sits in the middle; several spread from edge to edge.
  const x =
    buckets.length <= 1
      ? () => (plot.left + plot.right) / 2
      : linearScale([0, buckets.length - 1], [plot.left, plot.right]);
  const xs = buckets.map((_, i) => x(i));
  const every = Math.max(1, Math.ceil(buckets.length / Math.max(1, size.xLabels)));
  const xTicks: ChartGeometry['xTicks'] = [];
  let lastDay = '';
  buckets.forEach((b, i) => {
    if (i % every !== 0) return;
    const day = bucketDay(b.point.start, timeZone);
    xTicks.push({
      x: xs[i] as number,
      time: bucketTime(b.point.start, timeZone),
      day: day === lastDay ? null : day,
    });
    lastDay = day;
  });
  const firstHour = buckets.findIndex((b) => b.point.resolution === 'hour');
  return {
    width: size.width,
    height: size.height,
    plot,
    buckets,
    xs,
    yTicks: yTicks.map((value) => ({ value, y: y(value) })),
    xTicks,
    series: CHART_SERIES.map((s) => ({
      key: s.key,
      label: s.label,
      line: buckets.map((b, i) => ({ x: xs[i] as number, y: y(s.value(b.point)) })),
      markers: buckets.flatMap((b, i) =>
        b.filled
          ? []
          : [
              {
                x: xs[i] as number,
                y: y(s.value(b.point)),
                value: s.value(b.point),
                start: b.point.start,
                resolution: b.point.resolution,
              },
            ],
      ),
    })),
    hourFrom:
      firstHour > 0
        ? {
            x: ((xs[firstHour - 1] as number) + (xs[firstHour] as number)) / 2,
            start: buckets[firstHour]?.point.start ?? '',
          }
        : null,
  };
}

/** A rate (a fraction) as a percentage with one decimal: 0.4213 -> "42.1%". */
export function formatRate(rate: number): string {
  return `${(Math.round(rate * 1000) / 10).toFixed(1)}%`;
}

export interface FunnelStep {
  key: 'sent' | 'delivered' | 'opened' | 'clicked';
  label: string;
  /** Recipients at this step (unique opens and clicks). */
  count: number;
  /** Events, where that differs from recipients (all opens, all clicks). */
  total: number | null;
  /** This step's rate from the API, and what it is a rate of. */
  rate: number | null;
  rateOf: string | null;
  /** The bar's length: this step's recipients over those sent, 0..1. */
  share: number;
}

/** The funnel sent -> delivered -> opened -> clicked, with the API's own rates. */
export function funnelSteps(stats: Pick<CampaignStats, 'sent' | 'counts' | 'rates'>): FunnelStep[] {
  const share = (n: number) => (stats.sent > 0 ? Math.min(1, n / stats.sent) : 0);
  const c = stats.counts;
  return [
    {
      key: 'sent',
      label: 'Sent',
      count: stats.sent,
      total: null,
      rate: null,
      rateOf: null,
      share: stats.sent > 0 ? 1 : 0,
    },
    {
      key: 'delivered',
      label: 'Delivered',
      count: c.delivered,
      total: null,
      rate: stats.rates.delivery,
      rateOf: 'of sent',
      share: share(c.delivered),
    },
    {
      key: 'opened',
      label: 'Opened',
      count: c.opened.unique,
      total: c.opened.total,
      rate: stats.rates.open,
      rateOf: 'of delivered',
      share: share(c.opened.unique),
    },
    {
      key: 'clicked',
      label: 'Clicked',
      count: c.clicked.unique,
      total: c.clicked.total,
      rate: stats.rates.click,
      rateOf: 'of delivered',
      share: share(c.clicked.unique),
    },
  ];
}
