/**
 * A template's versions, newest first, the open one marked; each other version opens in the editor (to
 * read, or to save again as the newest).
 */
import type { TemplateRecord } from '../../api.ts';
import { client } from '../../api.ts';
import { formatTime, h, mount } from '../../dom.ts';

/** Fetches the versions of `current` and shows them in `box`. */
export async function showVersionList(box: HTMLElement, current: TemplateRecord): Promise<void> {
  const { items } = await client.templateVersions(current.id);
  mount(
    box,
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
