/** Templates: the latest version of each, with a way to create one. */
import { client } from '../api.ts';
import { formatTime, h, mount } from '../dom.ts';
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
    h(
      'table',
      { class: 'list' },
      h('caption', { class: 'visually-hidden' }, 'Templates, latest version of each'),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['Template', 'Subject', 'Version', 'Variables', 'Saved'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        null,
        items.map((t) =>
          h(
            'tr',
            null,
            h(
              'td',
              null,
              h('a', { href: `#/templates/${encodeURIComponent(t.id)}` }, t.name ?? t.id),
              t.name ? h('div', { class: 'muted mono' }, t.id) : null,
            ),
            h('td', null, t.subject),
            h('td', { class: 'num' }, `v${t.version}`),
            h('td', { class: 'mono small' }, t.variables.join(', ') || '–'),
            h('td', null, formatTime(t.createdAt)),
          ),
        ),
      ),
    ),
  );
}
