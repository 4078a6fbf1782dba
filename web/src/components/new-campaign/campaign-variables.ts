/**
 * Step 3 of the new-campaign form: campaign variables, one value for every recipient (a CSV column of
 * the same name wins for its row).
 */
import { card, h } from '../../dom.ts';

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

interface DataRow {
  name: HTMLInputElement;
  value: HTMLInputElement;
}

export interface CampaignVariables {
  element: HTMLElement;
  /** Name to value, for the rows with a name. */
  values(): Record<string, string>;
  problems(): string[];
}

/** `onChange` runs when a variable's name changes or a row is removed (what the checks depend on). */
export function campaignVariables(onChange: () => void): CampaignVariables {
  const rows: DataRow[] = [];
  const list = h('div', { class: 'data-rows' });

  const addRow = (name = '', value = '') => {
    const row: DataRow = {
      name: h('input', {
        value: name,
        'aria-label': 'Variable name',
        placeholder: 'name',
        class: 'mono',
        spellcheck: 'false',
      }),
      value: h('input', { value, 'aria-label': 'Value', placeholder: 'value' }),
    };
    rows.push(row);
    const element = h(
      'div',
      { class: 'data-row' },
      row.name,
      row.value,
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          onclick: () => {
            rows.splice(rows.indexOf(row), 1);
            element.remove();
            onChange();
          },
        },
        'Remove',
      ),
    );
    row.name.addEventListener('input', onChange);
    list.append(element);
    row.name.focus();
  };

  return {
    element: card(
      { id: 's-data', title: '3. Campaign variables' },
      h(
        'p',
        { class: 'hint' },
        'The same value for every recipient; a CSV column of the same name wins for its row.',
      ),
      list,
      h('button', { type: 'button', onclick: () => addRow() }, 'Add a variable'),
    ),
    values() {
      const out: Record<string, string> = {};
      for (const row of rows) if (row.name.value.trim()) out[row.name.value.trim()] = row.value.value;
      return out;
    },
    problems() {
      const out: string[] = [];
      for (const row of rows) {
        const name = row.name.value.trim();
        if (name && !VARIABLE_NAME.test(name))
          out.push(`"${name}" is not a variable name (letters, digits, _).`);
      }
      return out;
    },
  };
}
