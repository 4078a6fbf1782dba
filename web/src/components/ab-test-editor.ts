/**
 * The A/B test part of the new-campaign form: 2 to 5 variants (another subject, another template, or
 * both), each previewed side by side with the first recipient's values, the sample size, the metric, when
 * to decide, the confidence and the fallback. `value()` is the request's abTest (undefined when off).
 */
import type { CampaignRequest } from '../../../core/schemas.ts';
import type { TemplateSummary } from '../api.ts';
import { choice, field, h, mount } from '../dom.ts';

const NAMES = ['A', 'B', 'C', 'D', 'E'];
const DURATION = /^(?=\d)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

interface VariantRow {
  subject: HTMLInputElement;
  template: HTMLSelectElement;
  preview: HTMLElement;
}

export interface AbTestEditor {
  element: HTMLElement;
  value(): CampaignRequest['abTest'];
  problems(): string[];
  /** Shows each variant's subject with these values (the first valid row), beside the others. */
  preview(baseSubject: string, values: Record<string, string>): void;
}

/** Fills {{ name }} outputs for a preview; anything fancier shows as written. */
const fill = (subject: string, values: Record<string, string>) =>
  subject.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (whole, name: string) => values[name] ?? whole);

export function abTestEditor(templates: TemplateSummary[], onChange: () => void): AbTestEditor {
  const enabled = h('input', { type: 'checkbox', name: 'abEnabled' });
  const rows: VariantRow[] = [];
  const list = h('div', { class: 'ab-variants', 'data-testid': 'ab-variants' });
  const sample = h('input', { type: 'number', name: 'abSample', min: '1', max: '100', value: '20' });
  const metric = h(
    'select',
    { name: 'abMetric' },
    h('option', { value: 'clicks' }, 'Unique clicks'),
    h('option', { value: 'opens' }, 'Unique opens'),
  );
  const decideAfter = h('input', { name: 'abDecideAfter', value: '4h', placeholder: '4h' });
  const confidence = h(
    'select',
    { name: 'abConfidence' },
    ['0.9', '0.95', '0.99'].map((c) =>
      h('option', { value: c, selected: c === '0.95' }, `${Number(c) * 100}%`),
    ),
  );
  const fallback = h(
    'select',
    { name: 'abFallback' },
    h('option', { value: 'A' }, 'send variant A'),
    h('option', { value: 'hold' }, 'hold for a manual pick'),
  );
  let base = { subject: '', values: {} as Record<string, string> };

  const addRow = () => {
    if (rows.length >= 5) return;
    const name = NAMES[rows.length] as string;
    const row: VariantRow = {
      subject: h('input', {
        name: `abSubject${name}`,
        placeholder: 'the template’s subject',
        autocomplete: 'off',
      }),
      template: h(
        'select',
        { name: `abTemplate${name}` },
        h('option', { value: '' }, 'the campaign’s template'),
        templates.map((t) => h('option', { value: t.id }, `${t.name ?? t.id} (v${t.version})`)),
      ),
      preview: h('div', { class: 'ab-preview small', 'data-testid': `ab-preview-${name}` }),
    };
    for (const control of [row.subject, row.template]) control.addEventListener('input', changed);
    rows.push(row);
    draw();
  };
  const draw = () => {
    mount(
      list,
      rows.map((row, i) =>
        h(
          'div',
          { class: 'card ab-variant' },
          h('h3', null, `Variant ${NAMES[i]}`),
          field('Variant subject', row.subject),
          field(
            'Variant template',
            row.template,
            'Another template (its latest version), or the campaign’s.',
          ),
          row.preview,
        ),
      ),
    );
    drawPreviews();
  };
  const drawPreviews = () => {
    rows.forEach((row, i) => {
      const subject = row.subject.value.trim() || (row.template.value ? '' : base.subject);
      mount(
        row.preview,
        h('span', { class: 'muted' }, `${NAMES[i]} subject: `),
        subject ? fill(subject, base.values) : h('em', null, `the subject of ${row.template.value}`),
      );
    });
  };
  const changed = () => {
    drawPreviews();
    onChange();
  };
  addRow();
  addRow();
  const settings = h(
    'div',
    { class: 'ab-settings' },
    list,
    h(
      'button',
      {
        type: 'button',
        onclick: () => {
          addRow();
          onChange();
        },
      },
      'Add a variant',
    ),
    h(
      'div',
      { class: 'row' },
      field('Sample, % of recipients', sample, 'Split evenly between the variants; the rest get the winner.'),
      field('Winner by', metric),
    ),
    h(
      'div',
      { class: 'row' },
      field('Decide after', decideAfter, 'After the sample is sent: 90m, 4h, 1d.'),
      field('Confidence', confidence),
      field('With no winner', fallback),
    ),
  );
  settings.hidden = true;
  enabled.addEventListener('change', () => {
    settings.hidden = !enabled.checked;
    onChange();
  });
  for (const control of [sample, metric, decideAfter, confidence, fallback])
    control.addEventListener('input', onChange);

  return {
    element: h(
      'div',
      null,
      choice(enabled, 'Test variants on a sample first, then send the winner to the rest'),
      settings,
    ),
    value() {
      if (!enabled.checked) return undefined;
      return {
        variants: rows.map((row) => ({
          ...(row.subject.value.trim() ? { subject: row.subject.value.trim() } : {}),
          ...(row.template.value ? { templateId: row.template.value } : {}),
        })),
        sample: Number(sample.value) / 100,
        metric: metric.value as 'opens' | 'clicks',
        decideAfter: decideAfter.value.trim(),
        confidence: Number(confidence.value),
        fallback: fallback.value as 'A' | 'hold',
      };
    },
    problems() {
      if (!enabled.checked) return [];
      const out: string[] = [];
      rows.forEach((row, i) => {
        if (!row.subject.value.trim() && !row.template.value)
          out.push(`Variant ${NAMES[i]} needs a subject or another template.`);
      });
      const s = Number(sample.value);
      if (!(s > 0 && s <= 100)) out.push('The sample is a percentage between 1 and 100.');
      if (!DURATION.test(decideAfter.value.trim()))
        out.push('“Decide after” is a duration such as 4h or 1d.');
      return out;
    },
    preview(baseSubject, values) {
      base = { subject: baseSubject, values };
      drawPreviews();
    },
  };
}
