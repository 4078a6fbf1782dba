/**
 * One recipient of the campaign, looked up by address (GET /v1/campaigns/:id/recipients/:email): what the
 * send ledger says (sent with its message id, or failed and why), what SES said after (delivered, bounce
 * type and reason, complaint, opens, clicks and the links) and the timeline of events with their times.
 * An address the campaign never sent to and no event names answers 404, which the panel says in words;
 * any other refusal shows the API's own message.
 */
import type { RecipientOutcomeView } from '../../../core/compliance/stats.ts';
import { ApiError, api } from '../api.ts';
import { card, errorBox, field, formatNumber, formatTime, h, mount } from '../dom.ts';

export const fetchRecipient = (campaignId: string, email: string) =>
  api<RecipientOutcomeView>(
    'GET',
    `/v1/campaigns/${encodeURIComponent(campaignId)}/recipients/${encodeURIComponent(email)}`,
  );

const EVENT_LABEL: Record<string, string> = {
  send: 'Sent (SES accepted it)',
  delivery: 'Delivered',
  bounce: 'Bounced',
  complaint: 'Complained (marked as spam)',
  reject: 'Rejected by SES',
  deliveryDelay: 'Delivery delayed',
  renderingFailure: 'Rendering failed',
  open: 'Opened',
  click: 'Clicked',
  subscription: 'Subscription changed',
  unsubscribe: 'Unsubscribed',
};

/** To the second, in the browser's zone with its name: the events of one message are seconds apart. */
export function formatInstant(iso: string | null | undefined): string {
  return formatTime(iso, { seconds: true });
}

function summary(r: RecipientOutcomeView): HTMLElement {
  const o = r.outcome;
  const rows: [string, string, string | Node][] = [
    [
      'send',
      'Send',
      r.send
        ? r.send.state === 'sent'
          ? `sent${r.send.messageId ? ` (message ${r.send.messageId})` : ''}`
          : `failed${r.send.reason ? `: ${r.send.reason}` : ''}`
        : 'not in the send ledger',
    ],
    ['delivered', 'Delivered', formatInstant(o.deliveredAt)],
    [
      'bounce',
      'Bounce',
      o.bounceType
        ? `${o.hardBouncedAt ? 'hard' : 'soft'}: ${o.bounceType}${o.bounceSubType ? `/${o.bounceSubType}` : ''}${o.bounceReason ? ` (${o.bounceReason})` : ''}${o.hardBouncedAt ? `, ${formatInstant(o.hardBouncedAt)}` : ''}${o.softBounces > 0 ? `; ${formatNumber(o.softBounces)} soft bounce${o.softBounces === 1 ? '' : 's'}` : ''}`
        : 'none',
    ],
    [
      'complaint',
      'Complaint',
      o.complainedAt
        ? `${formatInstant(o.complainedAt)}${o.complaintType ? ` (${o.complaintType})` : ''}`
        : 'none',
    ],
    [
      'opens',
      'Opens',
      o.opens > 0 ? `${formatNumber(o.opens)}, first ${formatInstant(o.firstOpenedAt)}` : '0',
    ],
    [
      'clicks',
      'Clicks',
      o.clicks > 0 ? `${formatNumber(o.clicks)}, first ${formatInstant(o.firstClickedAt)}` : '0',
    ],
    [
      'links',
      'Links clicked',
      o.linksClicked.length > 0
        ? h(
            'ul',
            { class: 'plain' },
            o.linksClicked.map((link) => h('li', { class: 'mono small break' }, link)),
          )
        : 'none',
    ],
    ['unsubscribed', 'Unsubscribed', formatInstant(o.unsubscribedAt)],
  ];
  if (o.rejectedAt)
    rows.push(['rejected', 'Rejected', `${formatInstant(o.rejectedAt)} ${o.rejectReason ?? ''}`]);
  return h(
    'dl',
    { class: 'details', 'data-testid': 'recipient-summary' },
    rows.map(([key, label, value]) => [h('dt', null, label), h('dd', { 'data-field': key }, value)]),
  );
}

function timeline(r: RecipientOutcomeView): HTMLElement {
  if (r.timeline.length === 0)
    return h('p', { class: 'muted' }, 'No events from SES about this address yet.');
  return h(
    'ol',
    { class: 'timeline', 'data-testid': 'recipient-timeline' },
    r.timeline.map((entry) =>
      h(
        'li',
        { 'data-type': entry.type },
        h('time', { datetime: entry.at }, formatInstant(entry.at)),
        ' ',
        h('strong', null, EVENT_LABEL[entry.type] ?? entry.type),
        entry.detail ? h('span', { class: 'small break' }, ` ${entry.detail}`) : null,
      ),
    ),
  );
}

/** The lookup form and its answer; `signal` drops an answer that arrives after the page was left. */
export function recipientLookup(campaignId: string, signal: AbortSignal): HTMLElement {
  const input = h('input', {
    type: 'email',
    name: 'email',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'name@example.com',
    required: true,
  });
  const result = h('div', { 'aria-live': 'polite', 'data-testid': 'recipient-result' });
  let asked = 0;
  const lookUp = async (event: Event) => {
    event.preventDefault();
    const email = input.value.trim();
    if (!email) return;
    const mine = ++asked;
    mount(result, h('p', { class: 'muted' }, `Looking up ${email}…`));
    try {
      const answer = await fetchRecipient(campaignId, email);
      if (signal.aborted || mine !== asked) return;
      mount(
        result,
        h('h3', null, answer.email),
        summary(answer),
        h('h4', null, 'Timeline'),
        timeline(answer),
      );
    } catch (error) {
      if (signal.aborted || mine !== asked) return;
      if (error instanceof ApiError && error.status === 404) {
        mount(
          result,
          h(
            'p',
            { class: 'alert warning', role: 'alert' },
            `${email} is not a recipient of this campaign: nothing was sent to that address and no event names it.`,
          ),
        );
      } else mount(result, errorBox(error));
    }
  };
  return card(
    { id: 'lookup-title', title: 'Look up a recipient', wide: true, testId: 'recipient-lookup' },
    // novalidate: the API checks the address and says what is wrong with it, in the same words as the CLI.
    h(
      'form',
      { class: 'row end', novalidate: true, onsubmit: (event: Event) => void lookUp(event) },
      field('Recipient address', input, 'Any case; what happened to that one person, with times.'),
      h('button', { type: 'submit' }, 'Look up'),
    ),
    result,
  );
}
