/**
 * The template editor's fields: id, name, subject, HTML and text. Each part has its own error slot right
 * under it, so a liquid error sits next to the line it is about.
 */
import type { TemplateRecord } from '../../api.ts';
import { h, mount } from '../../dom.ts';
import type { PreviewOutcome, SyntaxProblem } from '../../preview.ts';

const STARTER = {
  subject: 'Hello {{ first_name }}',
  html: '<h1>Hello {{ first_name }}</h1>\n<p>Your news for this month.</p>\n<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>\n',
  text: '',
};
const PART_LABEL = { subject: 'Subject', html: 'HTML', text: 'Text' } as const;
const ID_PATTERN = '[A-Za-z0-9_\\-]{1,64}';

type Part = SyntaxProblem['part'];

export interface TemplateFields {
  id: HTMLInputElement;
  name: HTMLInputElement;
  controls: { subject: HTMLInputElement; html: HTMLTextAreaElement; text: HTMLTextAreaElement };
  /** Where each part's error shows. */
  slots: Record<Part, HTMLDivElement>;
  /** Where an error that belongs to no part shows (a partial that could not be loaded). */
  problemBox: HTMLDivElement;
  content(): { subject: string; html: string; text: string };
  clearProblems(): void;
  /** Marks the part the error is in and shows the error, with its line, under it. */
  showProblem(outcome: Extract<PreviewOutcome, { ok: false }>): void;
}

/** The fields filled from `record` (read only id), or a starter template for a new one. */
export function templateFields(record: TemplateRecord | undefined): TemplateFields {
  const id = h('input', {
    name: 'id',
    required: true,
    pattern: ID_PATTERN,
    value: record?.id ?? '',
    autocomplete: 'off',
    spellcheck: 'false',
    ...(record ? { readonly: true } : {}),
  });
  const name = h('input', { name: 'name', value: record?.name ?? '', autocomplete: 'off' });
  const subject = h('input', {
    name: 'subject',
    required: true,
    value: record?.subject ?? STARTER.subject,
    class: 'mono',
    spellcheck: 'false',
  });
  const html = h('textarea', { name: 'html', rows: 16, class: 'code', spellcheck: 'false', required: true });
  html.value = record?.html ?? STARTER.html;
  const text = h('textarea', { name: 'text', rows: 6, class: 'code', spellcheck: 'false' });
  text.value = record?.text ?? STARTER.text;
  const controls = { subject, html, text };
  const slots = {
    subject: h('div', { id: 'problem-subject' }),
    html: h('div', { id: 'problem-html' }),
    text: h('div', { id: 'problem-text' }),
  };
  const problemBox = h('div', { id: 'problem-other' });

  const clearProblems = () => {
    for (const c of Object.values(controls)) c.removeAttribute('aria-invalid');
    for (const slot of [...Object.values(slots), problemBox]) slot.replaceChildren();
  };

  return {
    id,
    name,
    controls,
    slots,
    problemBox,
    content: () => ({ subject: subject.value, html: html.value, text: text.value }),
    clearProblems,
    showProblem(outcome) {
      clearProblems();
      const syntax = outcome.syntax;
      if (!syntax) {
        mount(problemBox, h('div', { class: 'alert error', role: 'alert' }, outcome.message));
        return;
      }
      const control = controls[syntax.part];
      control.setAttribute('aria-invalid', 'true');
      control.setAttribute('aria-errormessage', slots[syntax.part].id);
      mount(slots[syntax.part], syntaxErrorView(syntax, control));
    },
  };
}

/** The error with its part, line and column, the source line with a caret, and a way to go to it. */
function syntaxErrorView(
  syntax: SyntaxProblem,
  control: HTMLInputElement | HTMLTextAreaElement,
): HTMLElement {
  const sourceLine = syntax.line ? control.value.split('\n')[syntax.line - 1] : undefined;
  return h(
    'div',
    { class: 'alert error', role: 'alert', 'data-testid': 'liquid-error' },
    h(
      'strong',
      null,
      `${PART_LABEL[syntax.part]}${syntax.line ? `, line ${syntax.line}` : ''}${syntax.column ? `, column ${syntax.column}` : ''}: `,
    ),
    syntax.problem,
    sourceLine !== undefined
      ? h(
          'pre',
          { class: 'error-line' },
          h('span', { class: 'line-no' }, `${syntax.line} | `),
          sourceLine,
          syntax.column ? `\n${' '.repeat(String(syntax.line).length + 3 + syntax.column - 1)}^` : '',
        )
      : null,
    h(
      'button',
      { type: 'button', class: 'link', onclick: () => showLine(control, syntax.line) },
      'Go to the line',
    ),
  );
}

/** Selects line `line` of a textarea, focuses it and scrolls it into view. */
export function showLine(area: HTMLTextAreaElement | HTMLInputElement, line: number | null) {
  const lines = area.value.split('\n');
  const index = Math.max(0, Math.min(lines.length - 1, (line ?? 1) - 1));
  const start = lines.slice(0, index).reduce((sum, l) => sum + l.length + 1, 0);
  area.focus();
  area.setSelectionRange(start, start + (lines[index]?.length ?? 0));
  if (area instanceof HTMLTextAreaElement) {
    const lineHeight = Number.parseFloat(getComputedStyle(area).lineHeight) || 18;
    area.scrollTop = Math.max(0, index * lineHeight - area.clientHeight / 2);
  }
}
