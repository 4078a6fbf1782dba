/** Templates: the latest version of each, with a way to create one. */
import { client } from '../api.ts';
import { dataTable, formatTime, h, mount } from '../dom.ts';
import type { ScreenContext } from '../screen.ts';

export async function templatesScreen({ root, setTitle }: ScreenContext): Promise<void> {
  setTitle('Templates');
  const body = h('div', { 'aria-busy': 'true' }, h('p', null, 'Loading templates…'));
  mount(
    root,
    h(
      'div',
      { class: 'page-head' },
      h('h1', null, 'Templates'),
      h('a', { href: '#/templates/new', class: 'button primary' }, 'New template'),
    ),
    body,
  );
  const { items } = await client.listTemplates();
  body.removeAttribute('aria-busy');
  if (items.length === 0) {
    mount(body, h('p', { class: 'empty' }, 'No templates yet. Create one to start a campaign.'));
    return;
  }
  mount(
    body,
    dataTable({
      props: { class: 'list' },
      caption: 'Templates, latest version of each',
      captionProps: { class: 'visually-hidden' },
      columns: [
        {
          header: 'Template',
          cell: (t) => [
            h('a', { href: `#/templates/${encodeURIComponent(t.id)}` }, t.name ?? t.id),
            t.name ? h('div', { class: 'muted mono' }, t.id) : null,
          ],
        },
        { header: 'Subject', cell: (t) => t.subject },
        { header: 'Version', cellProps: { class: 'num' }, cell: (t) => `v${t.version}` },
        {
          header: 'Variables',
          cellProps: { class: 'mono small' },
          cell: (t) => t.variables.join(', ') || '–',
        },
        { header: 'Saved', cell: (t) => formatTime(t.createdAt) },
      ],
      rows: items,
    }),
  );
}
