/**
 * Step 5 of the new-campaign form: now or at a date and time in the browser's zone, and the rate.
 */
import type { CampaignRequest } from '../../../../core/schemas.ts';
import { card, choice, field, h } from '../../dom.ts';

export type ScheduleFields = Pick<CampaignRequest, 'sendAt' | 'timeZone' | 'rate'>;

export interface ScheduleOptions {
  element: HTMLElement;
  /** The zone the date and time are in: the browser's. */
  zone: string;
  /** The datetime-local value to send at, or undefined to send now. */
  sendAt(): string | undefined;
  value(): ScheduleFields;
  problems(): string[];
}

/** The earliest schedule the form offers: the next whole minute plus two, as a datetime-local value. */
function defaultLocalTime(): string {
  const d = new Date(Date.now() + 3 * 60_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** `onChange` runs when the choice, the time or the rate changes. */
export function scheduleOptions(onChange: () => void): ScheduleOptions {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const whenNow = h('input', { type: 'radio', name: 'when', value: 'now', checked: true });
  const whenLater = h('input', { type: 'radio', name: 'when', value: 'later' });
  const sendAtInput = h('input', {
    type: 'datetime-local',
    name: 'sendAt',
    value: defaultLocalTime(),
    disabled: true,
  });
  const rateInput = h('input', {
    type: 'number',
    name: 'rate',
    min: '0.1',
    step: 'any',
    placeholder: 'default',
  });

  whenNow.addEventListener('change', () => {
    sendAtInput.disabled = true;
    onChange();
  });
  whenLater.addEventListener('change', () => {
    sendAtInput.disabled = false;
    sendAtInput.focus();
    onChange();
  });
  for (const input of [sendAtInput, rateInput]) input.addEventListener('input', onChange);

  return {
    element: card(
      { id: 's-when', title: '5. When and how fast' },
      h(
        'fieldset',
        { class: 'when' },
        h('legend', null, 'Send'),
        choice(whenNow, 'Now'),
        choice(whenLater, 'Later, at'),
        field('Date and time', sendAtInput, `In your time zone, ${zone}.`),
      ),
      field('Rate, emails per second (optional)', rateInput, 'Leave empty for the configured default.'),
    ),
    zone,
    sendAt: () => (whenLater.checked ? sendAtInput.value : undefined),
    value: () => ({
      ...(whenLater.checked ? { sendAt: sendAtInput.value, timeZone: zone } : { timeZone: zone }),
      ...(rateInput.value ? { rate: Number(rateInput.value) } : {}),
    }),
    problems() {
      const out: string[] = [];
      if (whenLater.checked && !sendAtInput.value) out.push('Choose the date and time to send.');
      if (rateInput.value && !(Number(rateInput.value) > 0)) out.push('The rate must be a positive number.');
      return out;
    },
  };
}
