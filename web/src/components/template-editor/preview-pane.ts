/**
 * The editor's preview pane: the rendered subject, the HTML in a sandboxed frame, and the text part. While
 * the template has an error it keeps the last preview that rendered, marked stale.
 */
import { h } from '../../dom.ts';
import type { PreviewOutcome } from '../../preview.ts';

export interface PreviewPane {
  element: HTMLElement;
  show(rendered: Extract<PreviewOutcome, { ok: true }>['rendered']): void;
  markStale(): void;
}

export function previewPane(): PreviewPane {
  const subject = h('p', { class: 'preview-subject', 'data-testid': 'preview-subject' });
  const frame = h('iframe', {
    title: 'HTML preview',
    sandbox: '',
    referrerpolicy: 'no-referrer',
    class: 'preview-frame',
  });
  const text = h('pre', { class: 'preview-text', 'data-testid': 'preview-text' });
  const element = h(
    'div',
    { class: 'preview-pane' },
    h(
      'p',
      { class: 'stale-note small' },
      'The template has an error: this is the last preview that rendered.',
    ),
    h('div', { class: 'preview-label' }, 'Subject'),
    subject,
    h('div', { class: 'preview-label' }, 'HTML'),
    frame,
    h('details', null, h('summary', null, 'Text part'), text),
  );
  return {
    element,
    show(rendered) {
      element.classList.remove('stale');
      subject.textContent = rendered.subject;
      frame.srcdoc = rendered.html;
      text.textContent = rendered.text;
    },
    markStale: () => element.classList.add('stale'),
  };
}
