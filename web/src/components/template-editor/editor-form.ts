/**
 * The editor's form: the fields in order, and the save bar. Saving checks the id and the template's
 * syntax first, then stores a new immutable version and opens it.
 */
import { ApiError, client } from '../../api.ts';
import { errorBox, field, h, mount, navigate } from '../../dom.ts';
import { preview } from '../../preview.ts';
import { showLine, type TemplateFields } from './template-fields.ts';

/** Where the next screen finds the "Saved version N" message. */
export const FLASH_KEY = 'sixback.flash';

export function editorForm(
  fields: TemplateFields,
  imageField: HTMLElement,
  existing: boolean,
): HTMLFormElement {
  const saveStatus = h('div', { role: 'status', 'aria-live': 'polite' });
  const { controls, slots } = fields;
  return h(
    'form',
    {
      class: 'editor',
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        await saveNewVersion(fields, saveStatus);
      },
    },
    h(
      'div',
      { class: 'row' },
      field(
        'Template id',
        fields.id,
        existing ? 'Saving makes a new version.' : 'Letters, digits, "-" or "_".',
      ),
      field('Name (optional)', fields.name),
    ),
    field('Subject', controls.subject),
    slots.subject,
    field('HTML', controls.html, 'Liquid: {{ first_name }}, {% if %}…{% endif %}. Values are HTML-escaped.'),
    slots.html,
    imageField,
    field('Text (optional)', controls.text, 'Without it, a text part is made from the HTML.'),
    slots.text,
    fields.problemBox,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Save new version'),
      saveStatus,
    ),
  );
}

async function saveNewVersion(fields: TemplateFields, saveStatus: HTMLElement): Promise<void> {
  if (!fields.id.checkValidity()) {
    mount(saveStatus, errorBox(new Error('Give the template an id: 1-64 letters, digits, "-" or "_".')));
    fields.id.focus();
    return;
  }
  const content = fields.content();
  const outcome = preview(content, {});
  if (!outcome.ok && outcome.syntax) {
    mount(saveStatus, errorBox(new Error('Fix the template error before saving.')));
    showLine(fields.controls[outcome.syntax.part], outcome.syntax.line);
    return;
  }
  mount(saveStatus, 'Saving…');
  try {
    const name = fields.name.value.trim();
    const saved = await client.saveTemplate(fields.id.value, {
      ...(name ? { name } : {}),
      subject: content.subject,
      html: content.html,
      ...(content.text.trim() ? { text: content.text } : {}),
    });
    sessionStorage.setItem(FLASH_KEY, `Saved version ${saved.version} of ${saved.id}.`);
    navigate(`#/templates/${encodeURIComponent(saved.id)}`);
  } catch (error) {
    mount(saveStatus, errorBox(error instanceof ApiError ? error : new Error(String(error))));
  }
}
