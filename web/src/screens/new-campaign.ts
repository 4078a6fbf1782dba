/**
 * New campaign: template version, recipients CSV (uploaded straight to storage with the presigned POST,
 * then checked by the API), campaign variables, sender, when, rate, an optional A/B test and test send,
 * and a final confirmation that states how many recipients and when. Missing template variables block
 * the send. Each step is a component (components/new-campaign/); this screen joins their checks.
 */

import type { CampaignRequest } from '../../../core/schemas.ts';
import type { TemplateSummary } from '../api.ts';
import { client } from '../api.ts';
import { abTestEditor } from '../components/ab-test-editor.ts';
import { campaignVariables } from '../components/new-campaign/campaign-variables.ts';
import { recipientsUpload } from '../components/new-campaign/recipients-upload.ts';
import { confirmDialog, reviewBar } from '../components/new-campaign/review.ts';
import { scheduleOptions } from '../components/new-campaign/schedule-options.ts';
import { senderOptions } from '../components/new-campaign/sender-options.ts';
import { templatePicker } from '../components/new-campaign/template-picker.ts';
import { testSendPanel } from '../components/new-campaign/test-send.ts';
import { card, h, mount } from '../dom.ts';
import { isSystemVariable } from '../preview.ts';
import type { ScreenContext } from '../screen.ts';

export async function newCampaignScreen({ root, query, setTitle }: ScreenContext): Promise<void> {
  setTitle('New campaign');
  mount(root, h('p', { 'aria-busy': 'true' }, 'Loading templates…'));
  const { items: templates } = await client.listTemplates();
  if (templates.length === 0) {
    mount(root, h('h1', null, 'New campaign'), noTemplateYet());
    return;
  }
  const form = campaignForm(templates, query.get('template'));
  mount(root, h('h1', null, 'New campaign'), form.element, form.dialog);
  await form.start();
}

function noTemplateYet(): HTMLElement {
  return h(
    'p',
    { class: 'empty' },
    'A campaign sends a template. ',
    h('a', { href: '#/templates/new' }, 'Create a template first'),
    '.',
  );
}

/** The form's steps, the checks that join them, and the request they add up to. */
function campaignForm(templates: TemplateSummary[], wanted: string | null) {
  // Every step reports its changes here: the checks and the blockers list are redrawn from all steps.
  const refresh = () => {
    recipients.render({
      variables: picker.template()?.variables.filter((v) => !isSystemVariable(v)) ?? [],
      data: variables.values(),
      missing: missingVariables(),
    });
    // Variables show as written (the check does not return rows); campaign variables are filled in.
    abTest.preview(picker.template()?.subject ?? '', variables.values());
    review.show(problems());
  };
  const picker = templatePicker(templates, wanted, refresh);
  const recipients = recipientsUpload(refresh);
  const variables = campaignVariables(refresh);
  const sender = senderOptions(refresh);
  const schedule = scheduleOptions(refresh);
  const abTest = abTestEditor(templates, refresh);
  const review = reviewBar();
  const dialog = confirmDialog();
  const idempotencyKey = crypto.randomUUID();

  /** Template variables that neither a column nor a campaign variable provides. */
  const missingVariables = (): string[] => {
    const current = picker.template();
    const check = recipients.check();
    if (!current || !check) return [];
    const have = new Set([...check.columns, ...Object.keys(variables.values())]);
    return current.variables.filter((v) => !isSystemVariable(v) && !have.has(v));
  };
  const problems = (): string[] => {
    const missing = missingVariables();
    return [
      ...(picker.template() ? [] : ['Choose a template.']),
      ...recipients.problems(),
      ...(missing.length > 0
        ? [
            `The template uses ${missing.map((m) => `"${m}"`).join(', ')}, which no column or campaign variable provides.`,
          ]
        : []),
      ...variables.problems(),
      ...sender.problems(),
      ...schedule.problems(),
      ...abTest.problems(),
    ];
  };
  /** Only called once `problems()` is empty: a template is loaded and the file passed its check. */
  const request = (): CampaignRequest => {
    const current = picker.template();
    const check = recipients.check();
    if (!current || !check) throw new Error('The form is not complete.');
    const data = variables.values();
    const ab = abTest.value();
    return {
      ...sender.value(),
      templateId: current.id,
      templateVersion: current.version,
      recipientsKey: check.key,
      ...(check.emailColumn ? { emailColumn: check.emailColumn } : {}),
      ...(Object.keys(data).length > 0 ? { data } : {}),
      ...schedule.value(),
      shortRows: recipients.shortRows(),
      ...(ab ? { abTest: ab } : {}),
    };
  };
  const confirmAndSend = () => {
    const check = recipients.check();
    if (problems().length > 0 || !check) return;
    dialog.open({
      check,
      template: picker.template(),
      from: sender.from(),
      sendAt: schedule.sendAt(),
      zone: schedule.zone,
      create: () => client.createCampaign(request(), idempotencyKey),
    });
  };

  const element = h(
    'form',
    {
      class: 'campaign-form',
      novalidate: true,
      onsubmit: (event: Event) => {
        event.preventDefault();
        confirmAndSend();
      },
    },
    picker.element,
    recipients.element,
    variables.element,
    sender.element,
    schedule.element,
    card({ id: 's-ab', title: 'A/B test (optional)', wide: true }, abTest.element),
    testSendPanel(() => ({
      template: picker.template(),
      from: sender.from(),
      data: variables.values(),
      check: recipients.check(),
    })),
    review.element,
  );
  return { element, dialog: dialog.element, start: () => picker.load() };
}
