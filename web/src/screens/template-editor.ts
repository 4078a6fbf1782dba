/**
 * Template editor: subject, HTML and text, with a live preview rendered in the browser by the sender's
 * own liquid code from sample variables. Syntax errors point at their part, line and column. Saving
 * makes a new immutable version; earlier versions are listed and can be opened (read, or saved again).
 */

import type { ResolvedPartials } from '../../../core/templates/partials.ts';
import { ApiError, client, type TemplateRecord, uploadFile } from '../api.ts';
import { errorBox, field, formatTime, h, mount, navigate } from '../dom.ts';
import {
  isSystemVariable,
  loadPartials,
  type PreviewOutcome,
  preview,
  type SyntaxProblem,
} from '../preview.ts';
import type { ScreenContext } from '../screen.ts';

const STARTER = {
  subject: 'Hello {{ first_name }}',
  html: '<h1>Hello {{ first_name }}</h1>\n<p>Your news for this month.</p>\n<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>\n',
  text: '',
};
const PART_LABEL = { subject: 'Subject', html: 'HTML', text: 'Text' } as const;
const ID_PATTERN = '[A-Za-z0-9_\\-]{1,64}';

/** Selects line `line` of a textarea, focuses it and scrolls it into view. */
function showLine(area: HTMLTextAreaElement | HTMLInputElement, line: number | null) {
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

export async function templateEditorScreen({ root, params, query, setTitle, signal }: ScreenContext) {
  const existingId = params.id;
  const version = query.get('version') ? Number(query.get('version')) : undefined;
  let record: TemplateRecord | undefined;
  if (existingId) {
    mount(root, h('p', { 'aria-busy': 'true' }, 'Loading template…'));
    record = await client.getTemplate(existingId, version);
  }
  setTitle(record ? `Template ${record.name ?? record.id}` : 'New template');

  const idInput = h('input', {
    name: 'id',
    required: true,
    pattern: ID_PATTERN,
    value: record?.id ?? '',
    autocomplete: 'off',
    spellcheck: 'false',
    ...(record ? { readonly: true } : {}),
  });
  const nameInput = h('input', { name: 'name', value: record?.name ?? '', autocomplete: 'off' });
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

  // Each part has its own error slot right under it, so the message sits next to the line it is about.
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
  const sampleBox = h('fieldset', { class: 'samples' });
  const samples = new Map<string, string>();
  const previewSubject = h('p', { class: 'preview-subject', 'data-testid': 'preview-subject' });
  const frame = h('iframe', {
    title: 'HTML preview',
    sandbox: '',
    referrerpolicy: 'no-referrer',
    class: 'preview-frame',
  });
  const previewText = h('pre', { class: 'preview-text', 'data-testid': 'preview-text' });
  const saveStatus = h('div', { role: 'status', 'aria-live': 'polite' });
  const previewPane = h(
    'div',
    { class: 'preview-pane' },
    h(
      'p',
      { class: 'stale-note small' },
      'The template has an error: this is the last preview that rendered.',
    ),
    h('div', { class: 'preview-label' }, 'Subject'),
    previewSubject,
    h('div', { class: 'preview-label' }, 'HTML'),
    frame,
    h('details', null, h('summary', null, 'Text part'), previewText),
  );

  const showProblem = (outcome: Extract<PreviewOutcome, { ok: false }>) => {
    clearProblems();
    previewPane.classList.add('stale');
    const syntax: SyntaxProblem | undefined = outcome.syntax;
    if (!syntax) {
      mount(problemBox, h('div', { class: 'alert error', role: 'alert' }, outcome.message));
      return;
    }
    const control = controls[syntax.part];
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute('aria-errormessage', slots[syntax.part].id);
    const sourceLine = syntax.line ? control.value.split('\n')[syntax.line - 1] : undefined;
    mount(
      slots[syntax.part],
      h(
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
      ),
    );
  };

  const renderSamples = (variables: string[]) => {
    const names = variables.filter((n) => !isSystemVariable(n));
    const focused = document.activeElement instanceof HTMLInputElement ? document.activeElement.name : '';
    mount(
      sampleBox,
      h('legend', null, 'Sample values'),
      names.length === 0
        ? h('p', { class: 'muted' }, 'The template uses no variables of its own.')
        : names.map((name) => {
            const input = h('input', {
              name: `sample:${name}`,
              value: samples.get(name) ?? '',
              placeholder: `[${name}]`,
              oninput: (event: Event) => {
                samples.set(name, (event.target as HTMLInputElement).value);
                schedule();
              },
            });
            return field(name, input);
          }),
      h(
        'p',
        { class: 'hint' },
        'email, unsubscribe_url and campaign_id are filled in by sixback for each recipient.',
      ),
    );
    const again = focused
      ? sampleBox.querySelector<HTMLInputElement>(`input[name="${CSS.escape(focused)}"]`)
      : null;
    again?.focus();
  };

  let lastVariables = '';
  // Stored templates used as partials, fetched from the API when the template first needs them.
  let partials: ResolvedPartials = new Map();
  let loadingPartials = false;
  const update = () => {
    const content = { subject: subject.value, html: html.value, text: text.value };
    const outcome = preview(content, Object.fromEntries(samples), partials);
    if (!outcome.ok && outcome.needsPartials && !loadingPartials) {
      loadingPartials = true;
      loadPartials(content, (id, version) => client.getTemplate(id, version)).then(
        (loaded) => {
          loadingPartials = false;
          partials = loaded;
          update();
        },
        (error: Error) => {
          loadingPartials = false;
          showProblem({ ok: false, message: error.message });
        },
      );
    }
    if (outcome.compiled) {
      const key = outcome.compiled.variables.join(',');
      if (key !== lastVariables) {
        lastVariables = key;
        renderSamples(outcome.compiled.variables);
      }
    }
    if (!outcome.ok) {
      showProblem(outcome);
      return;
    }
    clearProblems();
    previewPane.classList.remove('stale');
    previewSubject.textContent = outcome.rendered.subject;
    frame.srcdoc = outcome.rendered.html;
    previewText.textContent = outcome.rendered.text;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(update, 120);
  };
  signal.addEventListener('abort', () => clearTimeout(timer));
  for (const c of Object.values(controls)) c.addEventListener('input', schedule);

  const imageInput = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp' });
  const imageStatus = h('div', { role: 'status', 'aria-live': 'polite', class: 'small' });
  imageInput.addEventListener('change', async () => {
    const file = imageInput.files?.[0];
    if (!file) return;
    mount(imageStatus, `Uploading ${file.name}…`);
    try {
      const uploaded = await uploadFile('image', file);
      const url = uploaded.publicUrl ?? `${uploaded.url.replace(/\/$/, '')}/${uploaded.key}`;
      // Proves the upload arrived and that its address shows the image (which is what recipients load).
      await new Promise<void>((resolve, reject) => {
        const probe = new Image();
        probe.onload = () => resolve();
        probe.onerror = () => reject(new Error(`The image was uploaded but ${url} does not show it.`));
        probe.src = url;
      });
      const tag = `<img src="${url}" alt="" width="600" style="max-width:100%;height:auto">`;
      const at = html.selectionStart ?? html.value.length;
      html.setRangeText(tag, at, html.selectionEnd ?? at, 'end');
      mount(imageStatus, `Inserted ${file.name}. Describe it in the alt attribute.`);
      update();
    } catch (error) {
      mount(imageStatus, errorBox(error));
    } finally {
      imageInput.value = '';
    }
  });

  const form = h(
    'form',
    {
      class: 'editor',
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        if (!idInput.checkValidity()) {
          mount(
            saveStatus,
            errorBox(new Error('Give the template an id: 1-64 letters, digits, "-" or "_".')),
          );
          idInput.focus();
          return;
        }
        const outcome = preview({ subject: subject.value, html: html.value, text: text.value }, {});
        if (!outcome.ok && outcome.syntax) {
          mount(saveStatus, errorBox(new Error('Fix the template error before saving.')));
          showLine(controls[outcome.syntax.part], outcome.syntax.line);
          return;
        }
        mount(saveStatus, 'Saving…');
        try {
          const saved = await client.saveTemplate(idInput.value, {
            ...(nameInput.value.trim() ? { name: nameInput.value.trim() } : {}),
            subject: subject.value,
            html: html.value,
            ...(text.value.trim() ? { text: text.value } : {}),
          });
          sessionStorage.setItem('sixback.flash', `Saved version ${saved.version} of ${saved.id}.`);
          navigate(`#/templates/${encodeURIComponent(saved.id)}`);
        } catch (error) {
          mount(saveStatus, errorBox(error instanceof ApiError ? error : new Error(String(error))));
        }
      },
    },
    h(
      'div',
      { class: 'row' },
      field('Template id', idInput, record ? 'Saving makes a new version.' : 'Letters, digits, "-" or "_".'),
      field('Name (optional)', nameInput),
    ),
    field('Subject', subject),
    slots.subject,
    field('HTML', html, 'Liquid: {{ first_name }}, {% if %}…{% endif %}. Values are HTML-escaped.'),
    slots.html,
    field('Insert an image', imageInput, imageStatus),
    field('Text (optional)', text, 'Without it, a text part is made from the HTML.'),
    slots.text,
    problemBox,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Save new version'),
      saveStatus,
    ),
  );

  const flash = sessionStorage.getItem('sixback.flash');
  sessionStorage.removeItem('sixback.flash');

  const versions = h('div', { class: 'versions' });
  mount(
    root,
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, record ? (record.name ?? record.id) : 'New template'),
      record ? h('span', { class: 'badge' }, `v${record.version}`) : null,
      record
        ? h(
            'a',
            { class: 'button', href: `#/campaigns/new?template=${encodeURIComponent(record.id)}` },
            'Use in a campaign',
          )
        : null,
    ),
    flash ? h('p', { class: 'alert success', role: 'status' }, flash) : null,
    h(
      'div',
      { class: 'split' },
      h('section', { 'aria-label': 'Editor' }, form),
      h(
        'section',
        { 'aria-labelledby': 'preview-title', class: 'preview' },
        h('h2', { id: 'preview-title' }, 'Preview'),
        h('p', { class: 'small muted' }, 'Rendered in your browser with the sender’s liquid settings.'),
        previewPane,
        sampleBox,
        versions,
      ),
    ),
  );
  update();

  if (record) {
    const current = record;
    const { items } = await client.templateVersions(current.id);
    mount(
      versions,
      h('h2', null, 'Versions'),
      h(
        'ol',
        { class: 'version-list', reversed: true },
        items.map((v) =>
          h(
            'li',
            null,
            v.version === current.version
              ? h('strong', { 'aria-current': 'true' }, `v${v.version}`)
              : h(
                  'a',
                  { href: `#/templates/${encodeURIComponent(v.id)}?version=${v.version}` },
                  `v${v.version}`,
                ),
            ` · ${formatTime(v.createdAt)} · `,
            h('span', { class: 'muted' }, v.subject),
          ),
        ),
      ),
    );
  }
}
