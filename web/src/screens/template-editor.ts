/**
 * Template editor: subject, HTML and text, with a live preview rendered in the browser by the sender's
 * own liquid code from sample variables. Syntax errors point at their part, line and column. Saving
 * makes a new immutable version; earlier versions are listed and can be opened (read, or saved again).
 * The parts are components (components/template-editor/); this screen lays them out.
 */

import { client, type TemplateRecord } from '../api.ts';
import { editorForm, FLASH_KEY } from '../components/template-editor/editor-form.ts';
import { imageInsertField } from '../components/template-editor/image-insert.ts';
import { livePreview } from '../components/template-editor/live-preview.ts';
import { previewPane } from '../components/template-editor/preview-pane.ts';
import { sampleValues } from '../components/template-editor/sample-values.ts';
import { templateFields } from '../components/template-editor/template-fields.ts';
import { showVersionList } from '../components/template-editor/version-list.ts';
import { h, mount } from '../dom.ts';
import type { ScreenContext } from '../screen.ts';

export async function templateEditorScreen({ root, params, query, setTitle, signal }: ScreenContext) {
  const existingId = params.id;
  const version = query.get('version') ? Number(query.get('version')) : undefined;
  let record: TemplateRecord | undefined;
  if (existingId) {
    mount(root, h('p', { 'aria-busy': 'true' }, 'Loading template…'));
    record = await client.getTemplate(existingId, version);
  }
  setTitle(record ? `Template ${record.name ?? record.id}` : 'New template');

  const fields = templateFields(record);
  const pane = previewPane();
  const samples = sampleValues(() => live.schedule());
  const live = livePreview(fields, pane, samples, signal);
  const form = editorForm(
    fields,
    imageInsertField(fields.controls.html, () => live.update()),
    record !== undefined,
  );
  const flash = takeFlash();
  const versions = h('div', { class: 'versions' });
  mount(
    root,
    pageHead(record),
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
        pane.element,
        samples.element,
        versions,
      ),
    ),
  );
  live.update();
  if (record) await showVersionList(versions, record);
}

/** The template's name and version, and a link to send it. */
function pageHead(record: TemplateRecord | undefined): HTMLElement {
  return h(
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
  );
}

/** The message the last save left for this screen, shown once. */
function takeFlash(): string | null {
  const flash = sessionStorage.getItem(FLASH_KEY);
  sessionStorage.removeItem(FLASH_KEY);
  return flash;
}
