/**
 * Step 6 of the new-campaign form: a test send to a few addresses, rendered with the first valid row of
 * the uploaded file and the campaign variables.
 */
import type { RecipientsUploadCheck, TemplateRecord } from '../../api.ts';
import { client } from '../../api.ts';
import { card, errorBox, field, h, mount } from '../../dom.ts';

/** What the form holds when the test is asked for. */
export interface TestSendDraft {
  template: TemplateRecord | undefined;
  from: string;
  data: Record<string, string>;
  check: RecipientsUploadCheck | undefined;
}

export function testSendPanel(draft: () => TestSendDraft): HTMLElement {
  const testTo = h('input', {
    name: 'testTo',
    type: 'text',
    autocomplete: 'off',
    placeholder: 'you@example.com',
  });
  const testStatus = h('div', { role: 'status', 'aria-live': 'polite' });

  const sendTest = async () => {
    const { template, from, data, check } = draft();
    const to = testTo.value
      .split(/[,\s]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    if (!template || to.length === 0 || !from) {
      mount(
        testStatus,
        errorBox(new Error('A test needs a template, a From address and at least one address to send to.')),
      );
      return;
    }
    mount(testStatus, 'Sending the test…');
    try {
      const result = await client.testSend({
        templateId: template.id,
        templateVersion: template.version,
        from,
        to,
        ...(Object.keys(data).length ? { data } : {}),
        ...(check ? { recipientsKey: check.key, emailColumn: check.emailColumn } : {}),
      });
      mount(
        testStatus,
        h('p', { class: 'alert success' }, `Test sent to ${result.sent.map((s) => s.to).join(', ')}.`),
      );
    } catch (error) {
      mount(testStatus, errorBox(error));
    }
  };

  return card(
    { id: 's-test', title: '6. Test send (optional)' },
    h(
      'div',
      { class: 'row end' },
      field(
        'Send a test to (up to 5, comma-separated)',
        testTo,
        'Rendered with the first valid row of the CSV; subject prefixed [Test].',
      ),
      h('button', { type: 'button', onclick: () => void sendTest() }, 'Send test'),
    ),
    testStatus,
  );
}
