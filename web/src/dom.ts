/**
 * A few lines instead of a framework: `h()` builds elements, screens re-render the parts that change.
 * Text is always set as text (never innerHTML), so data shown in the console cannot inject markup.
 */

export type Child = Node | string | number | null | undefined | false | Child[];

type Listener = (event: Event) => void;
export type Props = Record<string, string | number | boolean | Listener | null | undefined>;

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(parent, c);
    return;
  }
  parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === 'value' && 'value' in element) {
      (element as HTMLInputElement).value = String(value);
    } else if (name === 'checked' && element instanceof HTMLInputElement) {
      element.checked = Boolean(value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, children);
  return element;
}

/** Replaces the children of `parent`. */
export function mount(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

let nextId = 0;
/** A unique id, for label/for and aria-describedby pairs. */
export const uid = (prefix: string) => `${prefix}-${++nextId}`;

/** A labelled form field: the label is always present and tied to the control. */
export function field(
  label: string,
  control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement,
  hint?: Child,
): HTMLDivElement {
  control.id ||= uid('f');
  const hintId = hint ? `${control.id}-hint` : undefined;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h(
    'div',
    { class: 'field' },
    h('label', { for: control.id }, label),
    control,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
  );
}

/** A card: a section named by its heading (aria-labelledby the h2's id); `wide` spans the grid. */
export function card(
  { id, title, wide = false, testId }: { id: string; title: Child; wide?: boolean; testId?: string },
  ...children: Child[]
): HTMLElement {
  return h(
    'section',
    { class: wide ? 'card wide' : 'card', 'aria-labelledby': id, 'data-testid': testId },
    h('h2', { id }, title),
    children,
  );
}

/** A column of a dataTable(): its header, and the cell it makes of each row or the count it shows. */
export type Column<Row> = {
  header: Child;
  /** A class on the header and on every cell of the column. */
  class?: string;
  /** Attributes of every cell; a class here is added to the column's. */
  cellProps?: Props;
  /** The cell names its row: a `<th scope="row">` instead of a `<td>`. */
  rowHeader?: boolean;
} & (
  | { cell: (row: Row) => Child; count?: never }
  /** A count: formatted, header and cells right-aligned (class `num`). */
  | { count: (row: Row) => number | null | undefined; cell?: never }
);

export interface DataTable<Row> {
  columns: Column<Row>[];
  rows: readonly Row[];
  /** Attributes of the table. */
  props?: Props;
  caption?: Child;
  /** Attributes of the caption (`class: 'visually-hidden'` when the heading above says it already). */
  captionProps?: Props;
  /** Attributes of each row's `<tr>`. */
  rowProps?: (row: Row) => Props | null;
}

/** A table of rows under `<th scope="col">` headers, each column's header and cells sharing its class. */
export function dataTable<Row>(table: DataTable<Row>): HTMLTableElement {
  const columns = table.columns.map((column) => {
    const { class: own, ...rest } = column.cellProps ?? {};
    const className = [column.count ? 'num' : '', column.class].filter(Boolean).join(' ') || undefined;
    const cellClass = [className, own].filter(Boolean).join(' ') || undefined;
    const { count, cell } = column;
    return {
      header: column.header,
      className,
      tag: column.rowHeader ? ('th' as const) : ('td' as const),
      props: { ...(column.rowHeader ? { scope: 'row' } : {}), class: cellClass, ...rest },
      cell: count ? (row: Row) => formatNumber(count(row)) : (cell as (row: Row) => Child),
    };
  });
  return h(
    'table',
    table.props ?? null,
    table.caption ? h('caption', table.captionProps ?? null, table.caption) : null,
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        columns.map((column) => h('th', { scope: 'col', class: column.className }, column.header)),
      ),
    ),
    h(
      'tbody',
      null,
      table.rows.map((row) =>
        h(
          'tr',
          table.rowProps?.(row) ?? null,
          columns.map((column) => h(column.tag, column.props, column.cell(row))),
        ),
      ),
    ),
  );
}

export function formatNumber(n: number | null | undefined): string {
  return n === null || n === undefined ? '–' : new Intl.NumberFormat().format(n);
}

/** A date-time in the browser's zone, with the zone's short name so nobody has to guess. */
export function formatTime(iso: string | null | undefined, options: { seconds?: boolean } = {}): string {
  if (!iso) return '–';
  // dateStyle/timeStyle cannot be combined with timeZoneName: spell the fields out.
  return new Intl.DateTimeFormat(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
    ...(options.seconds ? { second: '2-digit' as const } : {}),
    timeZoneName: 'short',
  }).format(new Date(iso));
}

export function statusBadge(status: string): HTMLSpanElement {
  return h('span', { class: `badge status-${status}` }, status.replaceAll('_', ' '));
}

/** An alert region for an error, with role=alert so screen readers announce it. */
export function errorBox(error: unknown): HTMLDivElement {
  const message = error instanceof Error ? error.message : String(error);
  return h('div', { class: 'alert error', role: 'alert' }, message);
}

/** A checkbox or radio button with its label after it. */
export function choice(control: HTMLInputElement, label: Child): HTMLDivElement {
  control.id ||= uid('c');
  return h('div', { class: 'check' }, control, h('label', { for: control.id }, label));
}

/** Goes to a route; re-renders it when the address is already that route (saving a template twice). */
export function navigate(hash: string): void {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}
