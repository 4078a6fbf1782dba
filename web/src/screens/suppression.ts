/**
 * The suppression list: addresses sixback never mails (unsubscribed, bounced, complained, added by hand).
 * Search, add, remove. If this build of the API has no suppression routes yet, the screen says so and
 * stays disabled rather than failing on every action.
 */
import { ApiError, client, type SuppressionEntry } from '../api.ts';
import { dataTable, errorBox, field, formatTime, h, mount } from '../dom.ts';
import type { ScreenContext } from '../screen.ts';

const REASONS = ['manual', 'unsubscribe', 'bounce', 'complaint'] as const;

const isMissingRoute = (error: unknown) =>
  error instanceof ApiError &&
  (error.status === 404 || error.status === 501) &&
  /No route|not available/.test(error.message);

export async function suppressionScreen({ root, setTitle, query: routeQuery }: ScreenContext): Promise<void> {
  setTitle('Suppression list');
  const search = h('input', {
    type: 'search',
    name: 'search',
    value: routeQuery.get('search') ?? '',
    autocomplete: 'off',
  });
  const addEmail = h('input', { type: 'email', name: 'email', required: true, autocomplete: 'off' });
  const addReason = h(
    'select',
    { name: 'reason' },
    REASONS.map((r) => h('option', { value: r }, r)),
  );
  const addStatus = h('div', { role: 'status', 'aria-live': 'polite' });
  const listBox = h('div', { 'aria-live': 'polite' });
  const more = h('div');
  let cursor: string | null | undefined;
  let shown: SuppressionEntry[] = [];

  const disable = () => {
    mount(
      root,
      h('h1', null, 'Suppression list'),
      h(
        'div',
        { class: 'alert warning', role: 'status', 'data-testid': 'suppression-unavailable' },
        h('strong', null, 'Not available in this build. '),
        'The API has no suppression routes yet (GET/POST /v1/suppression, DELETE /v1/suppression/:email). ',
        'Addresses are still suppressed when they unsubscribe, bounce or complain; manage the list with the CLI until then.',
      ),
      h(
        'fieldset',
        { disabled: true, class: 'card' },
        h('legend', null, 'Add an address'),
        field('Email address', h('input', { type: 'email' })),
        h('button', { type: 'button' }, 'Suppress'),
      ),
    );
  };

  const removeButton = (entry: SuppressionEntry) =>
    h(
      'button',
      {
        type: 'button',
        class: 'link danger',
        'aria-label': `Remove ${entry.key} from the list`,
        onclick: async () => {
          if (!window.confirm(`Remove ${entry.key}? sixback will mail this address again.`)) return;
          try {
            await client.unsuppress(entry.key);
            shown = shown.filter((e) => e.key !== entry.key);
            mount(addStatus, `Removed ${entry.key}.`);
            draw();
          } catch (error) {
            mount(addStatus, errorBox(error));
          }
        },
      },
      'Remove',
    );

  const draw = () => {
    if (shown.length === 0) {
      mount(
        listBox,
        h(
          'p',
          { class: 'empty' },
          search.value ? `No suppressed address contains “${search.value}”.` : 'The list is empty.',
        ),
      );
    } else {
      mount(
        listBox,
        dataTable({
          props: { class: 'list' },
          caption: 'Suppressed addresses',
          captionProps: { class: 'visually-hidden' },
          columns: [
            { header: 'Address', cellProps: { class: 'mono' }, cell: (entry) => entry.key },
            {
              header: 'Reason',
              cell: (entry) => h('span', { class: `badge reason-${entry.reason}` }, entry.reason),
            },
            { header: 'Source', cellProps: { class: 'small muted' }, cell: (entry) => entry.source },
            { header: 'Added', cell: (entry) => formatTime(entry.at) },
            { header: '', cell: removeButton },
          ],
          rows: shown,
        }),
      );
    }
    mount(
      more,
      cursor ? h('button', { type: 'button', onclick: () => void load(false) }, 'Show more') : null,
    );
  };

  const load = async (fresh: boolean) => {
    const page = await client.listSuppressed(search.value.trim(), fresh ? undefined : (cursor ?? undefined));
    shown = fresh ? page.items : [...shown, ...page.items];
    cursor = page.cursor ?? null;
    draw();
  };

  try {
    await client.listSuppressed('');
  } catch (error) {
    if (isMissingRoute(error)) return disable();
    throw error;
  }

  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => void load(true).catch((e) => mount(listBox, errorBox(e))), 250);
  });

  mount(
    root,
    h('h1', null, 'Suppression list'),
    h(
      'p',
      null,
      'sixback never mails these addresses: a campaign records them as “suppressed” in its report.',
    ),
    h(
      'div',
      { class: 'split narrow-right' },
      h(
        'section',
        { 'aria-labelledby': 'list-title' },
        h('h2', { id: 'list-title', class: 'visually-hidden' }, 'Addresses'),
        h(
          'form',
          { role: 'search', onsubmit: (e: Event) => e.preventDefault() },
          field('Search addresses', search),
        ),
        listBox,
        more,
      ),
      h(
        'form',
        {
          class: 'card',
          'aria-labelledby': 'add-title',
          novalidate: true,
          onsubmit: async (event: Event) => {
            event.preventDefault();
            if (!addEmail.checkValidity()) {
              mount(addStatus, errorBox(new Error('Enter an email address.')));
              addEmail.focus();
              return;
            }
            try {
              await client.suppress(addEmail.value.trim(), addReason.value as (typeof REASONS)[number]);
              mount(addStatus, `Suppressed ${addEmail.value.trim()}.`);
              addEmail.value = '';
              await load(true);
            } catch (error) {
              mount(addStatus, errorBox(error));
            }
          },
        },
        h('h2', { id: 'add-title' }, 'Add an address'),
        field('Email address', addEmail),
        field('Reason', addReason),
        h('button', { type: 'submit', class: 'primary' }, 'Suppress'),
        addStatus,
      ),
    ),
  );
  await load(true);
}
