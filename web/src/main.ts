/**
 * The console's shell: takes the token from the URL fragment, draws the navigation, and routes
 * `#/path` to a screen. Each screen gets an AbortSignal that fires when the user leaves it, so polling
 * and pending work stop with it.
 */
import {
  ApiError,
  adoptTokenFromFragment,
  borrowToken,
  clearToken,
  client,
  getInboxUrl,
  getToken,
  setToken,
  UNAUTHORIZED_EVENT,
} from './api.ts';
import { errorBox, field, h, mount } from './dom.ts';
import type { Screen, ScreenContext } from './screen.ts';
import { campaignScreen } from './screens/campaign.ts';
import { campaignsScreen } from './screens/campaigns.ts';
import { newCampaignScreen } from './screens/new-campaign.ts';
import { suppressionScreen } from './screens/suppression.ts';
import { templateEditorScreen } from './screens/template-editor.ts';
import { templatesScreen } from './screens/templates.ts';
import './styles.css';

const ROUTES: [RegExp, string[], Screen][] = [
  [/^\/?$/, [], campaignsScreen],
  [/^\/campaigns$/, [], campaignsScreen],
  [/^\/campaigns\/new$/, [], newCampaignScreen],
  [/^\/campaigns\/([^/]+)$/, ['id'], campaignScreen],
  [/^\/templates$/, [], templatesScreen],
  [/^\/templates\/new$/, [], templateEditorScreen],
  [/^\/templates\/([^/]+)$/, ['id'], templateEditorScreen],
  [/^\/suppression$/, [], suppressionScreen],
];

/** What the console knows of its surroundings: the local SES inbox when `sixback dev` passed it. */
interface ConsoleConfig {
  inboxUrl?: string | null;
}

const NAV: [string, string][] = [
  ['#/campaigns', 'Campaigns'],
  ['#/campaigns/new', 'New campaign'],
  ['#/templates', 'Templates'],
  ['#/suppression', 'Suppression'],
];

function shell(config: ConsoleConfig): { main: HTMLElement; nav: HTMLElement } {
  const nav = h(
    'nav',
    { 'aria-label': 'Main' },
    h(
      'ul',
      null,
      NAV.map(([href, label]) => h('li', null, h('a', { href }, label))),
      config.inboxUrl
        ? h(
            'li',
            null,
            h(
              'a',
              { href: config.inboxUrl, target: '_blank', rel: 'noopener noreferrer', class: 'external' },
              'Local inbox',
              h('span', { class: 'visually-hidden' }, ' (opens in a new tab)'),
            ),
          )
        : null,
    ),
    h(
      'button',
      {
        type: 'button',
        class: 'link',
        onclick: () => {
          clearToken();
          void start();
        },
      },
      'Sign out',
    ),
  );
  const header = h(
    'header',
    { class: 'top' },
    h('a', { href: '#/campaigns', class: 'brand' }, 'sixback'),
    config.inboxUrl ? h('span', { class: 'badge mode' }, 'local') : null,
    nav,
  );
  const main = h('main', { id: 'main', tabindex: '-1' });
  mount(document.getElementById('app') as HTMLElement, header, main);
  return { main, nav };
}

function signIn(message?: string): void {
  const input = h('input', { type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const status = h('div', { role: 'status', 'aria-live': 'polite' });
  const form = h(
    'form',
    {
      class: 'card narrow',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        setToken(input.value);
        try {
          await client.health();
          await start();
        } catch (error) {
          clearToken();
          mount(status, errorBox(error));
        }
      },
    },
    h('h1', null, 'Sign in to sixback'),
    message ? h('p', { class: 'alert warning', role: 'alert' }, message) : null,
    h(
      'p',
      null,
      h('code', null, 'sixback dev'),
      ' opens this console signed in. If you opened it yourself, paste the API token it printed (also in ',
      h('code', null, '.sixback/api.json'),
      ').',
    ),
    field('API token', input),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    status,
  );
  mount(document.getElementById('app') as HTMLElement, h('main', { id: 'main', class: 'centered' }, form));
  input.focus();
}

let current: AbortController | undefined;
let mainElement: HTMLElement | undefined;
let navElement: HTMLElement | undefined;

async function route(): Promise<void> {
  if (!mainElement || !navElement) return;
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const [path = '', search = ''] = location.hash.replace(/^#/, '').split('?');
  const match = ROUTES.map(([pattern, names, screen]) => ({ m: pattern.exec(path), names, screen })).find(
    (r) => r.m,
  );
  for (const link of Array.from(navElement.querySelectorAll('a'))) {
    const href = link.getAttribute('href') ?? '';
    const active = href === `#${path}` || (path === '' && href === '#/campaigns');
    if (active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const main = mainElement;
  main.replaceChildren();
  const context: ScreenContext = {
    root: main,
    params: {},
    query: new URLSearchParams(search),
    signal: controller.signal,
    setTitle: (title) => {
      document.title = `${title} · sixback`;
    },
  };
  if (!match?.m) {
    context.setTitle('Not found');
    mount(main, h('h1', null, 'Not found'), h('p', null, h('a', { href: '#/campaigns' }, 'Go to campaigns')));
    return;
  }
  match.names.forEach((name, i) => {
    context.params[name] = decodeURIComponent(match.m?.[i + 1] ?? '');
  });
  try {
    await match.screen(context);
  } catch (error) {
    if (controller.signal.aborted) return;
    if (error instanceof ApiError && error.status === 401) return;
    main.append(errorBox(error));
  }
}

async function start(): Promise<void> {
  adoptTokenFromFragment();
  if (!getToken()) {
    mount(
      document.getElementById('app') as HTMLElement,
      h('p', { class: 'centered', role: 'status' }, 'Signing in…'),
    );
    const borrowed = await borrowToken();
    if (borrowed) setToken(borrowed);
  }
  if (!getToken()) {
    signIn();
    return;
  }
  const config: ConsoleConfig = { inboxUrl: getInboxUrl() };
  const { main, nav } = shell(config);
  mainElement = main;
  navElement = nav;
  await route();
}

/** The fragment `sixback dev` prints: #token=…(&inbox=…). */
const carriesToken = () => new URLSearchParams(location.hash.replace(/^#/, '')).has('token');

// Listened to from the first moment, signed in or not: a `#token=` link pasted into the address bar of
// the sign-in screen (the token changes at every `sixback dev` start) signs in without a reload.
window.addEventListener('hashchange', () => {
  if (carriesToken()) {
    void start();
    return;
  }
  void route().then(() => mainElement?.focus({ preventScroll: true }));
});
window.addEventListener(UNAUTHORIZED_EVENT, () => {
  // On the sign-in screen the form says what was wrong with the token it tried.
  if (!mainElement) return;
  clearToken();
  mainElement = undefined;
  navElement = undefined;
  signIn('The API refused the token (it changes each time `sixback dev` starts). Paste the new one.');
});

void start();
