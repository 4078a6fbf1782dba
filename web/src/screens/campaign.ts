/**
 * One campaign: status, schedule, live progress (a bar, counts per terminal state, rate, expected
 * finish), the execution, the recipients check, actions (cancel, resume, resend failed) and the report;
 * once it has started sending, what happened after (components/campaign-analytics.ts: funnel, events over
 * time, links, bounces, recipient lookup). Polls once a second while the campaign can still change.
 */

import { RECIPIENT_STATE_LABEL, RECIPIENT_STATES } from '../../../core/campaigns/status.ts';
import { progressSummary } from '../../../core/campaigns/view.ts';
import { describeAlarm, describeEvents, describeRates } from '../../../core/compliance/health.ts';
import { type CampaignView, client, describeJob, waitForJob } from '../api.ts';
import { abTestPanel, fetchAbTest, pickVariant } from '../components/ab-test-panel.ts';
import { type CampaignAnalytics, campaignAnalytics } from '../components/campaign-analytics.ts';
import { card, errorBox, formatNumber, formatTime, h, mount, statusBadge } from '../dom.ts';
import type { ScreenContext } from '../screen.ts';

const STATES = RECIPIENT_STATES.map((state) => [state, RECIPIENT_STATE_LABEL[state]] as const);
const POLL_MS = 1000;
const CHANGING = new Set(['pending', 'scheduled', 'sending']);

function progressSection(c: CampaignView): HTMLElement {
  const p = c.progress;
  const percent = p.percent ?? (p.total === 0 ? 100 : 0);
  return card(
    { id: 'progress-title', title: 'Progress' },
    h(
      'div',
      {
        class: 'bar',
        role: 'progressbar',
        'aria-label': 'Recipients done',
        'aria-valuemin': '0',
        'aria-valuemax': String(p.total ?? 0),
        'aria-valuenow': String(p.done),
        'aria-valuetext': p.total === null ? 'not checked yet' : `${p.done} of ${p.total} (${percent}%)`,
      },
      STATES.map(([state]) => {
        const n = p.counts[state];
        const width = p.total ? (n / p.total) * 100 : 0;
        return width > 0 ? h('span', { class: `seg ${state}`, style: `width:${width}%` }) : null;
      }),
    ),
    h('p', { class: 'bar-caption', 'data-testid': 'progress-text' }, progressSummary(c, formatNumber)),
    h(
      'dl',
      { class: 'stats' },
      STATES.map(([state, label]) =>
        h(
          'div',
          { class: `stat ${state}`, 'data-state': state },
          h('dt', null, h('span', { class: `dot ${state}`, 'aria-hidden': 'true' }), label),
          h('dd', null, formatNumber(p.counts[state])),
        ),
      ),
      h(
        'div',
        { class: 'stat' },
        h('dt', null, c.status === 'sending' ? 'Current rate' : 'Average rate'),
        h(
          'dd',
          null,
          p.ratePerSecond === null ? '–' : `${p.ratePerSecond}/s`,
          h('span', { class: 'muted small' }, ` of ${p.plannedRate}/s planned`),
        ),
      ),
      h(
        'div',
        { class: 'stat' },
        h('dt', null, 'Expected finish'),
        h('dd', { class: 'small' }, formatTime(p.expectedFinishAt)),
      ),
    ),
  );
}

/** SES events counted for the campaign, its complaint and bounce rates, and any alarm raised. */
function deliverabilitySection(c: CampaignView): HTMLElement | null {
  const d = c.deliverability;
  if (!d) return null;
  return card(
    { id: 'deliverability-title', title: 'Deliverability', testId: 'deliverability' },
    d.alarms.map((alarm) =>
      h(
        'p',
        { class: 'alert error', role: 'alert' },
        `${describeAlarm(alarm)} (raised ${formatTime(alarm.raisedAt)})`,
      ),
    ),
    h('p', null, h('strong', null, d.status === 'alarm' ? 'Alarm: ' : 'Healthy: '), describeRates(d), '.'),
    h('p', { class: 'small' }, 'SES events: ', describeEvents(d.events) || 'none yet', '.'),
  );
}

function detailsSection(c: CampaignView): HTMLElement {
  const rows: [string, unknown][] = [
    [
      'Template',
      h(
        'a',
        { href: `#/templates/${encodeURIComponent(c.templateId)}?version=${c.templateVersion}` },
        `${c.templateId} v${c.templateVersion}`,
      ),
    ],
    ['From', c.from],
    [
      'Send time',
      c.schedule.sendAt
        ? [
            formatTime(c.schedule.sendAt),
            c.schedule.sendAtLocal && c.schedule.timeZone
              ? h('div', { class: 'muted small' }, `${c.schedule.sendAtLocal} (${c.schedule.timeZone})`)
              : null,
          ]
        : 'immediately',
    ],
    ['Created', formatTime(c.createdAt)],
    ['Started', formatTime(c.startedAt)],
    ['Finished', formatTime(c.finishedAt)],
    [
      'Execution',
      c.executionUrl
        ? h(
            'a',
            { href: c.executionUrl, target: '_blank', rel: 'noopener noreferrer' },
            'Open in the Step Functions console',
            h('span', { class: 'visually-hidden' }, ' (opens in a new tab)'),
          )
        : c.executionArn
          ? [
              h('span', { class: 'mono small break' }, c.executionArn),
              h('div', { class: 'muted small' }, 'Run by the local engine (no AWS console).'),
            ]
          : '–',
    ],
  ];
  return card(
    { id: 'details-title', title: 'Details' },
    h(
      'dl',
      { class: 'details' },
      rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v as HTMLElement)]),
    ),
  );
}

function checkSection(c: CampaignView): HTMLElement | null {
  if (!c.check) return null;
  const k = c.check;
  return card(
    { id: 'check-title', title: 'Recipients file' },
    h(
      'p',
      null,
      `${formatNumber(k.rows)} rows: ${formatNumber(k.valid)} valid, ${formatNumber(k.invalid)} invalid, ${formatNumber(k.duplicates)} duplicates. Columns: `,
      h('span', { class: 'mono' }, k.columns.join(', ')),
      '.',
    ),
    k.problems.length > 0
      ? h(
          'details',
          null,
          h(
            'summary',
            null,
            `Invalid rows (${k.problems.length}${k.invalid > k.problems.length ? ` of ${k.invalid}` : ''})`,
          ),
          h(
            'ul',
            null,
            k.problems.map((p) => h('li', null, `Row ${p.row} ${p.problem}`)),
          ),
        )
      : null,
  );
}

export async function campaignScreen({ root, params, setTitle, signal }: ScreenContext): Promise<void> {
  const id = params.id as string;
  setTitle(`Campaign ${id}`);
  const head = h('div', { class: 'page-head' });
  const actions = h('div', { class: 'actions' });
  const actionStatus = h('div', { role: 'status', 'aria-live': 'polite' });
  const body = h('div', { class: 'campaign-grid' });
  // Polite live region with only the status: screen readers hear changes, not every count.
  const announcer = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
  // The analytics sit outside `body`, which is redrawn every second: the lookup keeps its input and focus.
  const analyticsSlot = h('div');
  mount(root, head, h('div', { class: 'toolbar' }, actions, actionStatus), announcer, body, analyticsSlot);
  let analytics: CampaignAnalytics | undefined;

  let timer: ReturnType<typeof setTimeout> | undefined;
  signal.addEventListener('abort', () => clearTimeout(timer));
  let lastStatus = '';

  const act = async (action: 'cancel' | 'resume' | 'resend-failed', question: string) => {
    if (!window.confirm(question)) return;
    mount(actionStatus, 'Working…');
    try {
      const { job, ...view } = await client.campaignAction(id, action);
      draw(view);
      if (job) {
        // Cancelled at once; the report is written by a job: show how far it got.
        mount(actionStatus, describeJob('Writing the report', job));
        await waitForJob(job, (j) => mount(actionStatus, describeJob('Writing the report', j)), signal);
      }
      mount(actionStatus);
      poll();
    } catch (error) {
      mount(actionStatus, errorBox(error));
    }
  };

  const download = async () => {
    mount(actionStatus, 'Preparing the report…');
    try {
      let answer = await client.reportUrl(id);
      if ('job' in answer) {
        mount(actionStatus, describeJob('Writing the report', answer.job));
        await waitForJob(
          answer.job,
          (j) => mount(actionStatus, describeJob('Writing the report', j)),
          signal,
        );
        answer = await client.reportUrl(id);
      }
      if (!('url' in answer)) throw new Error('The report is not ready yet; try again.');
      const { url } = answer;
      mount(actionStatus);
      const a = h('a', { href: url, download: `${id}-report.csv`, rel: 'noopener noreferrer' });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (error) {
      mount(actionStatus, errorBox(error));
    }
  };

  const abSlot = h('div');
  const drawAbTest = async (c: CampaignView) => {
    if (!c.abTest) return;
    try {
      const test = await fetchAbTest(c.id);
      if (signal.aborted) return;
      mount(
        abSlot,
        abTestPanel(test, async (variant) => {
          if (!confirm(`Send variant ${variant} to the rest of the campaign? This ends the test.`)) return;
          try {
            await pickVariant(c.id, variant);
            draw(await client.getCampaign(id));
          } catch (error) {
            mount(actionStatus, errorBox(error));
          }
        }),
      );
    } catch (error) {
      mount(abSlot, errorBox(error));
    }
  };

  function draw(c: CampaignView) {
    void drawAbTest(c);
    // Stats exist once sending began; a pending or scheduled campaign has none to show.
    const live = CHANGING.has(c.status);
    if (!analytics && (c.startedAt || !['pending', 'scheduled'].includes(c.status))) {
      analytics = campaignAnalytics(id, { signal, live });
      mount(analyticsSlot, analytics.element);
    }
    analytics?.setLive(live);
    setTitle(`${c.name || c.id} (${c.status.replaceAll('_', ' ')})`);
    mount(
      head,
      h('h1', null, c.name || c.id),
      h('span', { 'data-testid': 'campaign-status' }, statusBadge(c.status)),
      c.name && c.name !== c.id ? h('span', { class: 'muted mono small' }, c.id) : null,
    );
    if (c.status !== lastStatus) {
      announcer.textContent = `Campaign is ${c.status.replaceAll('_', ' ')}`;
      lastStatus = c.status;
    }
    const failed = c.progress.counts.failed;
    mount(
      actions,
      ['pending', 'scheduled', 'sending'].includes(c.status)
        ? h(
            'button',
            {
              type: 'button',
              class: 'danger',
              onclick: () =>
                act('cancel', `Cancel campaign ${c.name || c.id}? Emails already sent stay sent.`),
            },
            'Cancel campaign',
          )
        : null,
      ['failed', 'cancelled', 'completed_with_failures'].includes(c.status)
        ? h(
            'button',
            {
              type: 'button',
              onclick: () => act('resume', 'Resume this campaign? Recipients already sent to are skipped.'),
            },
            'Resume',
          )
        : null,
      ['completed_with_failures', 'failed'].includes(c.status) && failed > 0
        ? h(
            'button',
            {
              type: 'button',
              onclick: () => act('resend-failed', `Send again to the ${failed} failed recipients?`),
            },
            `Resend to ${formatNumber(failed)} failed`,
          )
        : null,
      c.reportAvailable
        ? h(
            'button',
            { type: 'button', onclick: () => void download() },
            'Download the per-recipient report (CSV: row, email, state, message id, reason)',
          )
        : h(
            'span',
            { class: 'muted small' },
            'The per-recipient report is written when the campaign finishes.',
          ),
    );
    mount(
      body,
      c.statusReason
        ? h(
            'p',
            { class: `alert ${c.status === 'failed' ? 'error' : 'warning'}`, role: 'alert' },
            c.statusReason,
          )
        : null,
      progressSection(c),
      c.abTest ? abSlot : null,
      deliverabilitySection(c),
      detailsSection(c),
      checkSection(c),
    );
  }

  function poll() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        const c = await client.getCampaign(id);
        if (signal.aborted) return;
        draw(c);
        if (CHANGING.has(c.status)) poll();
      } catch (error) {
        if (!signal.aborted) {
          mount(actionStatus, errorBox(error));
          poll();
        }
      }
    }, POLL_MS);
  }

  const first = await client.getCampaign(id);
  draw(first);
  if (CHANGING.has(first.status)) poll();
}
