/**
 * Step 1 of the new-campaign form: the template and its version. Choosing either loads that version
 * (its subject and variables), which the rest of the form checks the recipients against.
 */
import type { TemplateRecord, TemplateSummary } from '../../api.ts';
import { client } from '../../api.ts';
import { card, errorBox, field, formatTime, h, mount } from '../../dom.ts';

export interface TemplatePicker {
  element: HTMLElement;
  /** The loaded version, once `load` has finished. */
  template(): TemplateRecord | undefined;
  /** Loads the chosen template's latest version (or `version`) and lists its versions. */
  load(version?: number): Promise<void>;
}

/** `wanted` preselects a template (the editor's "Use in a campaign"); `onChange` runs after each load. */
export function templatePicker(
  templates: TemplateSummary[],
  wanted: string | null,
  onChange: () => void,
): TemplatePicker {
  let template: TemplateRecord | undefined;
  const templateSelect = h(
    'select',
    { name: 'template', required: true },
    templates.map((t) => h('option', { value: t.id }, `${t.name ?? t.id} (v${t.version})`)),
  );
  if (wanted && templates.some((t) => t.id === wanted)) templateSelect.value = wanted;
  const versionSelect = h('select', { name: 'version' });
  const templateInfo = h('div', { class: 'small', 'aria-live': 'polite' });

  const load = async (version?: number) => {
    mount(templateInfo, 'Loading…');
    template = await client.getTemplate(templateSelect.value, version);
    if (version === undefined) {
      const versions = (await client.templateVersions(template.id)).items;
      mount(
        versionSelect,
        versions.map((v) =>
          h('option', { value: String(v.version) }, `v${v.version} · ${formatTime(v.createdAt)}`),
        ),
      );
    }
    versionSelect.value = String(template.version);
    mount(
      templateInfo,
      h('span', null, 'Subject: ', h('q', null, template.subject)),
      ' · ',
      h('a', { href: `#/templates/${encodeURIComponent(template.id)}?version=${template.version}` }, 'open'),
    );
    onChange();
  };
  templateSelect.addEventListener('change', () => void load().catch((e) => mount(templateInfo, errorBox(e))));
  versionSelect.addEventListener(
    'change',
    () => void load(Number(versionSelect.value)).catch((e) => mount(templateInfo, errorBox(e))),
  );

  return {
    element: card(
      { id: 's-template', title: '1. Template', wide: true },
      h('div', { class: 'row' }, field('Template', templateSelect), field('Version', versionSelect)),
      templateInfo,
    ),
    template: () => template,
    load,
  };
}
