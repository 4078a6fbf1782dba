/**
 * Events over time, in plain SVG: one line each for delivered, opened, clicked and bounced, per bucket of
 * the stats' series (per minute for the first hours, per hour after, as the API returns them), with a
 * count axis, time labels and a marker on every bucket the API returned. The SVG is an image to assistive
 * technology (role=img, <title>, <desc> summing it up); the same numbers are in a table beside it.
 * Colours are never the only signal: each line has its own dash pattern and marker shape, and a legend.
 */
import type { CampaignStats, SeriesPoint } from '../../../core/compliance/stats.ts';
import { type Column, card, dataTable, formatNumber, h, uid } from '../dom.ts';
import {
  bucketLabel,
  CHART_SERIES,
  type ChartGeometry,
  type ChartSeriesKey,
  chartGeometry,
} from './chart-math.ts';

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element, its attributes set as attributes and its text as text. */
function s(tag: string, attrs: Record<string, string | number> = {}, ...children: (Node | string)[]) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  for (const child of children)
    element.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  return element;
}

const STYLE: Record<ChartSeriesKey, { dash: string; marker: 'circle' | 'square' | 'diamond' | 'triangle' }> =
  {
    delivered: { dash: '', marker: 'circle' },
    opened: { dash: '6 3', marker: 'square' },
    clicked: { dash: '2 3', marker: 'diamond' },
    bounced: { dash: '8 3 2 3', marker: 'triangle' },
  };

const round = (n: number) => Math.round(n * 100) / 100;

function marker(kind: (typeof STYLE)[ChartSeriesKey]['marker'], x: number, y: number) {
  const r = 3;
  switch (kind) {
    case 'circle':
      return s('circle', { cx: round(x), cy: round(y), r });
    case 'square':
      return s('rect', { x: round(x - r), y: round(y - r), width: 2 * r, height: 2 * r });
    case 'diamond':
      return s('path', {
        d: `M${round(x)} ${round(y - r - 1)}l${r + 1} ${r + 1}l${-r - 1} ${r + 1}l${-r - 1} ${-r - 1}z`,
      });
    case 'triangle':
      return s('path', { d: `M${round(x)} ${round(y - r - 1)}l${r + 1} ${2 * r + 1}h${-2 * r - 2}z` });
  }
}

/** One sentence per line: its total over the series and its busiest bucket. */
function describe(geometry: ChartGeometry, timeZone?: string): string {
  const resolution = new Set(geometry.buckets.map((b) => b.point.resolution));
  const span =
    geometry.buckets.length === 0
      ? 'No events yet.'
      : `${geometry.buckets.length} buckets (${[...resolution].map((r) => `per ${r}`).join(', then ')}) from ${bucketLabel(
          (geometry.buckets[0] as ChartGeometry['buckets'][number]).point,
          timeZone,
        )}.`;
  const lines = geometry.series.map((line) => {
    const total = line.markers.reduce((n, m) => n + m.value, 0);
    const peak = line.markers.reduce((best, m) => (m.value > best.value ? m : best), {
      value: 0,
      start: '',
      resolution: 'minute' as const,
    } as (typeof line.markers)[number]);
    return `${line.label}: ${formatNumber(total)}${peak.value > 0 ? `, at most ${formatNumber(peak.value)} in a ${peak.resolution} (${bucketLabel(peak, timeZone).replace(/, 1 \w+$/, '')})` : ''}.`;
  });
  return [span, ...lines].join(' ');
}

function svgChart(geometry: ChartGeometry, titleText: string, timeZone?: string): SVGSVGElement {
  const titleId = uid('chart-title');
  const descId = uid('chart-desc');
  const { plot } = geometry;
  const svg = s('svg', {
    class: 'events-chart',
    role: 'img',
    viewBox: `0 0 ${geometry.width} ${geometry.height}`,
    'aria-labelledby': `${titleId} ${descId}`,
    'data-testid': 'events-chart',
  }) as SVGSVGElement;
  svg.append(s('title', { id: titleId }, titleText), s('desc', { id: descId }, describe(geometry, timeZone)));

  const yAxis = s('g', { class: 'axis y-axis', 'aria-hidden': 'true' });
  for (const tick of geometry.yTicks) {
    yAxis.append(
      s('line', { class: 'grid', x1: plot.left, x2: plot.right, y1: round(tick.y), y2: round(tick.y) }),
      s(
        'text',
        {
          x: plot.left - 6,
          y: round(tick.y),
          'text-anchor': 'end',
          'dominant-baseline': 'middle',
          'data-value': tick.value,
        },
        formatNumber(tick.value),
      ),
    );
  }
  yAxis.append(
    s(
      'text',
      {
        class: 'axis-title',
        transform: `translate(11 ${round((plot.top + plot.bottom) / 2)}) rotate(-90)`,
        'text-anchor': 'middle',
      },
      'Events per bucket',
    ),
  );

  const xAxis = s('g', { class: 'axis x-axis', 'aria-hidden': 'true' });
  xAxis.append(
    s('line', { class: 'baseline', x1: plot.left, x2: plot.right, y1: plot.bottom, y2: plot.bottom }),
  );
  for (const tick of geometry.xTicks) {
    xAxis.append(
      s('line', { x1: round(tick.x), x2: round(tick.x), y1: plot.bottom, y2: plot.bottom + 4 }),
      s('text', { x: round(tick.x), y: plot.bottom + 16, 'text-anchor': 'middle' }, tick.time),
    );
    if (tick.day)
      xAxis.append(
        s('text', { class: 'day', x: round(tick.x), y: plot.bottom + 30, 'text-anchor': 'middle' }, tick.day),
      );
  }
  if (geometry.hourFrom) {
    xAxis.append(
      s('line', {
        class: 'resolution-change',
        x1: round(geometry.hourFrom.x),
        x2: round(geometry.hourFrom.x),
        y1: plot.top,
        y2: plot.bottom,
      }),
      s(
        'text',
        { class: 'resolution-label', x: round(geometry.hourFrom.x) + 4, y: plot.top + 10 },
        'per hour from here',
      ),
    );
  }

  const lines = s('g', { class: 'lines', 'aria-hidden': 'true' });
  for (const line of geometry.series) {
    const style = STYLE[line.key];
    const group = s('g', { class: `series series-${line.key}`, 'data-series': line.key });
    group.append(
      s('polyline', {
        points: line.line.map((p) => `${round(p.x)},${round(p.y)}`).join(' '),
        fill: 'none',
        ...(style.dash ? { 'stroke-dasharray': style.dash } : {}),
      }),
    );
    for (const m of line.markers) {
      const shape = marker(style.marker, m.x, m.y);
      shape.setAttribute('class', 'marker');
      shape.setAttribute('data-start', m.start);
      shape.setAttribute('data-value', String(m.value));
      shape.setAttribute('data-x', String(round(m.x)));
      shape.setAttribute('data-y', String(round(m.y)));
      group.append(shape);
    }
    lines.append(group);
  }
  svg.append(yAxis, xAxis, lines);
  return svg;
}

function legend(): HTMLElement {
  return h(
    'ul',
    { class: 'chart-legend', 'aria-hidden': 'true' },
    CHART_SERIES.map((series) => {
      const style = STYLE[series.key];
      const sample = s('svg', {
        width: 34,
        height: 12,
        viewBox: '0 0 34 12',
        class: `series series-${series.key}`,
      });
      sample.append(
        s('line', { x1: 1, x2: 33, y1: 6, y2: 6, ...(style.dash ? { 'stroke-dasharray': style.dash } : {}) }),
        marker(style.marker, 17, 6),
      );
      return h('li', null, sample, series.label);
    }),
  );
}

/** A column of the series table: one count of each bucket, tagged with its series. */
const count = (header: string, series: string, value: (p: SeriesPoint) => number): Column<SeriesPoint> => ({
  header,
  count: value,
  cellProps: { 'data-series': series },
});

/** The same numbers as the chart, one row per bucket the API returned. */
function seriesTable(geometry: ChartGeometry, timeZone?: string): HTMLElement {
  const points = geometry.buckets.filter((b) => !b.filled).map((b) => b.point);
  return h(
    'details',
    { class: 'chart-data' },
    h('summary', null, `Data table (${formatNumber(points.length)} buckets)`),
    dataTable({
      props: { class: 'list compact', 'data-testid': 'series-table' },
      caption: 'Events per bucket',
      captionProps: { class: 'visually-hidden' },
      columns: [
        { header: 'Bucket', rowHeader: true, cell: (p) => bucketLabel(p, timeZone) },
        count('Sent', 'sent', (p) => p.sent),
        ...CHART_SERIES.map((series) => count(series.label, series.key, series.value)),
        count('Complained', 'complained', (p) => p.complained),
        count('Unsubscribed', 'unsubscribed', (p) => p.unsubscribed),
      ],
      rows: points,
      rowProps: (p) => ({ 'data-start': p.start }),
    }),
  );
}

export function eventsChart(stats: Pick<CampaignStats, 'series'>, timeZone?: string): HTMLElement {
  const geometry = chartGeometry(stats.series.points, undefined, timeZone);
  const minutesUntil = stats.series.minutesUntil;
  return card(
    { id: 'events-chart-title', title: 'Events over time', wide: true, testId: 'events-over-time' },
    geometry.buckets.length === 0
      ? h('p', { class: 'muted' }, 'No events yet: SES reports deliveries within seconds of each send.')
      : [
          legend(),
          h(
            'div',
            { class: 'chart-frame' },
            svgChart(geometry, 'Delivered, opened, clicked and bounced events per bucket', timeZone),
          ),
          h(
            'p',
            { class: 'small muted' },
            'Events by their own time, in your time zone: one bucket per minute',
            minutesUntil
              ? ` until ${bucketLabel({ start: minutesUntil, resolution: 'minute' }, timeZone).replace(/, 1 minute$/, '')}`
              : '',
            ', then one per hour. Empty buckets are drawn as zero; markers are the buckets with events.',
          ),
          seriesTable(geometry, timeZone),
        ],
  );
}
