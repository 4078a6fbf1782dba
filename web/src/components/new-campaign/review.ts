/**
 * The end of the new-campaign form: the "Review and send…" bar that lists what still blocks the send, and
 * the confirmation dialog that states how many recipients get which template, from whom, and when.
 */
import type { CampaignView, RecipientsUploadCheck, TemplateRecord } from '../../api.ts';
import { errorBox, formatNumber, h, mount } from '../../dom.ts';

export interface ReviewBar {
  element: HTMLElement;
  /** Lists the problems; the review button works only when there are none. */
  show(problems: string[]): void;
}

export function reviewBar(): ReviewBar {
  const blockers = h('ul', { id: 'blockers', class: 'blockers', 'aria-live': 'polite' });
  const reviewButton = h(
    'button',
    { type: 'submit', class: 'primary', 'aria-describedby': 'blockers' },
    'Review and send…',
  );
  const submitStatus = h('div', { role: 'status', 'aria-live': 'polite' });
  return {
    element: h('div', { class: 'actions sticky wide' }, reviewButton, blockers, submitStatus),
    show(problems) {
      mount(
        blockers,
        problems.map((p) => h('li', null, p)),
      );
      reviewButton.disabled = problems.length > 0;
    },
  };
}

/** What the dialog asks the user to confirm. */
export interface CampaignReview {
  check: RecipientsUploadCheck;
  template: TemplateRecord | undefined;
  from: string;
  /** The datetime-local value it is scheduled at, or undefined for now. */
  sendAt: string | undefined;
  zone: string;
  /** Creates the campaign (once confirmed). */
  create(): Promise<CampaignView>;
}

export interface ConfirmDialog {
  element: HTMLDialogElement;
  open(review: CampaignReview): void;
}

export function confirmDialog(): ConfirmDialog {
  const dialog = h('dialog', { 'aria-labelledby': 'confirm-title', class: 'confirm' });
  return {
    element: dialog,
    open(review) {
      const scheduled = review.sendAt !== undefined;
      const status = h('div', { role: 'status', 'aria-live': 'polite' });
      const confirmButton = h(
        'button',
        { type: 'button', class: 'primary', autofocus: true },
        scheduled ? 'Schedule' : 'Send now',
      );
      confirmButton.addEventListener('click', async () => {
        confirmButton.disabled = true;
        mount(status, 'Starting…');
        try {
          const created = await review.create();
          dialog.close();
          location.hash = `#/campaigns/${encodeURIComponent(created.id)}`;
        } catch (error) {
          confirmButton.disabled = false;
          mount(status, errorBox(error));
        }
      });
      mount(
        dialog,
        h('h2', { id: 'confirm-title' }, scheduled ? 'Schedule this campaign?' : 'Send this campaign now?'),
        ...reviewSummary(review),
        h(
          'div',
          { class: 'actions' },
          confirmButton,
          h('button', { type: 'button', onclick: () => dialog.close() }, 'Go back'),
        ),
        status,
      );
      dialog.showModal();
    },
  };
}

function reviewSummary({ check: c, template, from, sendAt, zone }: CampaignReview): (HTMLElement | null)[] {
  const whenText = sendAt
    ? `at ${new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' }).format(new Date(sendAt))} (${zone})`
    : 'now';
  return [
    h(
      'p',
      { class: 'confirm-summary', 'data-testid': 'confirm-summary' },
      `${formatNumber(c.valid)} recipient${c.valid === 1 ? '' : 's'} will get “${template?.name ?? template?.id}” (v${template?.version}) from ${from}, ${whenText}.`,
    ),
    c.invalid + c.duplicates > 0
      ? h(
          'p',
          null,
          `${formatNumber(c.invalid)} invalid and ${formatNumber(c.duplicates)} duplicate rows will be skipped and listed in the report.`,
        )
      : null,
    h('p', { class: 'small muted' }, 'Addresses on the suppression list are skipped when the emails go out.'),
  ];
}
