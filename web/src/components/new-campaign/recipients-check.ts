/**
 * What the API's check of an uploaded recipients file found, as the form shows it: the row counts, each
 * column and the template variable it feeds (and the variables nothing feeds), and the invalid rows.
 */
import type { RecipientsUploadCheck } from '../../api.ts';
import { dataTable, formatNumber, h } from '../../dom.ts';

export interface CheckContext {
  /** The template's own variables (not the ones sixback fills in). */
  variables: string[];
  /** The campaign variables given so far. */
  data: Record<string, string>;
  /** Variables neither a column nor a campaign variable provides. */
  missing: string[];
}

export function recipientsCheckView(check: RecipientsUploadCheck, context: CheckContext): HTMLElement[] {
  return [
    rowCounts(check),
    columnsTable(check, context),
    context.missing.length > 0 ? missingAlert(context.missing) : null,
    check.problems.length > 0 ? invalidRowsTable(check) : null,
  ].filter((element): element is HTMLElement => element !== null);
}

function rowCounts(c: RecipientsUploadCheck): HTMLElement {
  return h(
    'dl',
    { class: 'stats' },
    [
      ['Rows', c.rows],
      ['Valid', c.valid],
      ['Invalid', c.invalid],
      ['Duplicates', c.duplicates],
      ['Blank lines', c.blankLines],
      ...(c.shortRows ? [['Short rows', c.shortRows]] : []),
    ].map(([label, value]) =>
      h(
        'div',
        { class: `stat${label === 'Invalid' && c.invalid > 0 ? ' warn' : ''}` },
        h('dt', null, String(label)),
        h('dd', null, formatNumber(value as number)),
      ),
    ),
  );
}

function columnsTable(c: RecipientsUploadCheck, { variables, data }: CheckContext): HTMLElement {
  return h(
    'table',
    { class: 'list compact' },
    h('caption', null, 'Columns and the template variables they feed'),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Column'), h('th', { scope: 'col' }, 'Feeds'))),
    h(
      'tbody',
      null,
      c.columns.map((col) =>
        h(
          'tr',
          null,
          h('th', { scope: 'row', class: 'mono' }, col),
          h(
            'td',
            null,
            col === c.emailColumn ? h('span', { class: 'badge' }, 'recipient address') : null,
            variables.includes(col)
              ? h('code', null, `{{ ${col} }}`)
              : col === c.emailColumn
                ? null
                : h('span', { class: 'muted' }, 'not used by the template'),
          ),
        ),
      ),
      variables
        .filter((v) => !c.columns.includes(v))
        .map((v) =>
          h(
            'tr',
            { class: v in data ? '' : 'missing' },
            h('th', { scope: 'row', class: 'muted' }, v in data ? 'campaign variable' : 'no column'),
            h(
              'td',
              null,
              h('code', null, `{{ ${v} }}`),
              v in data
                ? ''
                : h('strong', { class: 'danger' }, ' missing: add a column or a campaign variable'),
            ),
          ),
        ),
    ),
  );
}

function missingAlert(missing: string[]): HTMLElement {
  return h(
    'p',
    { class: 'alert error', role: 'alert' },
    `Missing variables: ${missing.join(', ')}. The campaign cannot be sent until every variable has a value.`,
  );
}

function invalidRowsTable(c: RecipientsUploadCheck): HTMLElement {
  return dataTable({
    props: { class: 'list compact problems', 'data-testid': 'invalid-rows' },
    caption: `Invalid rows${c.invalid > c.problems.length ? ` (first ${c.problems.length} of ${formatNumber(c.invalid)})` : ''}: they will not be sent`,
    columns: [
      { header: 'Row', cellProps: { class: 'num' }, cell: (p) => String(p.row) },
      { header: 'Problem', cell: (p) => `Row ${p.row} ${p.problem}` },
    ],
    rows: c.problems,
  });
}
