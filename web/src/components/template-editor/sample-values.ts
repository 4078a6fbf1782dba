/**
 * The preview's sample values: one input per variable the template uses (not the ones sixback fills in),
 * redrawn when the set of variables changes, keeping what was typed and where the cursor was.
 */
import { field, h, mount } from '../../dom.ts';
import { isSystemVariable } from '../../preview.ts';

export interface SampleValues {
  element: HTMLElement;
  values(): Record<string, string>;
  /** Shows one input per variable of `variables`, if the set changed since the last call. */
  show(variables: string[]): void;
}

/** `onInput` runs as a sample value is typed. */
export function sampleValues(onInput: () => void): SampleValues {
  const element = h('fieldset', { class: 'samples' });
  const samples = new Map<string, string>();
  // Starts as a template with no variables: the box stays empty until the template has some.
  let shown = '';

  const draw = (variables: string[]) => {
    const names = variables.filter((n) => !isSystemVariable(n));
    const focused = document.activeElement instanceof HTMLInputElement ? document.activeElement.name : '';
    mount(
      element,
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
                onInput();
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
      ? element.querySelector<HTMLInputElement>(`input[name="${CSS.escape(focused)}"]`)
      : null;
    again?.focus();
  };

  return {
    element,
    values: () => Object.fromEntries(samples),
    show(variables) {
      const key = variables.join(',');
      if (key === shown) return;
      shown = key;
      draw(variables);
    },
  };
}
