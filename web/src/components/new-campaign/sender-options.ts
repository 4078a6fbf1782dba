/**
 * Step 4 of the new-campaign form: From, Reply-To, the campaign's name, and the two options (transactional
 * mail, and sending nothing when any row is invalid).
 */
import type { CampaignRequest } from '../../../../core/schemas.ts';
import { card, choice, field, h } from '../../dom.ts';

export type SenderFields = Pick<
  CampaignRequest,
  'from' | 'replyTo' | 'name' | 'transactional' | 'onInvalidRows'
>;

export interface SenderOptions {
  element: HTMLElement;
  /** The From address as typed, trimmed. */
  from(): string;
  /** The request's sender fields. */
  value(): SenderFields;
  problems(): string[];
}

/** `onChange` runs as an address is typed. */
export function senderOptions(onChange: () => void): SenderOptions {
  const nameInput = h('input', { name: 'name', autocomplete: 'off' });
  const fromInput = h('input', { name: 'from', type: 'email', required: true, autocomplete: 'email' });
  const replyToInput = h('input', { name: 'replyTo', type: 'email', autocomplete: 'off' });
  const transactional = h('input', { type: 'checkbox', name: 'transactional' });
  const abortOnInvalid = h('input', { type: 'checkbox', name: 'abortOnInvalid' });
  for (const input of [fromInput, replyToInput]) input.addEventListener('input', onChange);

  return {
    element: card(
      { id: 's-sender', title: '4. Sender' },
      h(
        'div',
        { class: 'row' },
        field('From', fromInput, 'A verified SES identity.'),
        field('Reply-To (optional)', replyToInput),
      ),
      field('Campaign name (optional)', nameInput),
      choice(
        transactional,
        'Transactional mail (receipts, resets): the template may omit the unsubscribe link',
      ),
      choice(abortOnInvalid, 'Send nothing if any row is invalid'),
    ),
    from: () => fromInput.value.trim(),
    value: () => ({
      ...(nameInput.value.trim() ? { name: nameInput.value.trim() } : {}),
      from: fromInput.value.trim(),
      ...(replyToInput.value.trim() ? { replyTo: [replyToInput.value.trim()] } : {}),
      onInvalidRows: abortOnInvalid.checked ? ('abort' as const) : ('skip' as const),
      transactional: transactional.checked,
    }),
    problems() {
      const out: string[] = [];
      if (!fromInput.value.trim() || !fromInput.checkValidity()) out.push('Give a valid From address.');
      if (replyToInput.value.trim() && !replyToInput.checkValidity())
        out.push('The Reply-To address is not valid.');
      return out;
    },
  };
}
