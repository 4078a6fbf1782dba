/**
 * Previews and test sends: a template rendered the way the sender renders it, with given variables, the
 * first row of an uploaded CSV, or samples. A test send goes straight through the EmailSender: it is not
 * part of any campaign, so it touches neither the ledger nor the report.
 */

import { TemplateRenderError, TestSendFailedError } from '../errors.ts';
import type { TemplateRecord } from '../schemas.ts';
import { classifySendFailure, type EmailSender } from '../sending/email-sender.ts';
import type { ResolvedPartials } from './partials.ts';
import {
  assertTextVariables,
  compileTemplate,
  RenderError,
  type RenderedEmail,
  renderTemplate,
  SYSTEM_VARIABLES,
  type TemplateContent,
} from './render.ts';

export type Variables = Record<string, string | number | boolean>;

export interface Preview extends RenderedEmail {
  /** The variables used, after filling in samples. */
  variables: Variables;
  /** Variables the template reads that had no value and were given a sample. */
  sampled: string[];
}

/** Placeholder link: a preview or test must not carry a working unsubscribe link for anyone. */
export const TEST_UNSUBSCRIBE_URL = 'https://unsubscribe.invalid/this-is-a-test';

export function renderPreview(
  content: TemplateContent,
  layers: { data?: Variables | undefined; row?: Variables | undefined; given?: Variables | undefined },
  options: { campaignId?: string; partials?: ResolvedPartials | undefined } = {},
): Preview {
  // The partials are loaded by the caller (TemplateStore.partials), once, before this synchronous render.
  const compiled = compileTemplate(content, options.partials);
  assertTextVariables(compiled);
  // Same precedence as the sender: campaign data, then the row's columns, then what the caller gave.
  const variables: Variables = {
    email: 'recipient@example.com',
    campaign_id: options.campaignId ?? 'preview',
    unsubscribe_url: TEST_UNSUBSCRIBE_URL,
    ...layers.data,
    ...layers.row,
    ...layers.given,
  };
  const sampled: string[] = [];
  for (const name of compiled.variables) {
    if (variables[name] === undefined && !(SYSTEM_VARIABLES as readonly string[]).includes(name)) {
      variables[name] = `[${name}]`;
      sampled.push(name);
    }
  }
  try {
    return { ...renderTemplate(compiled, variables), variables, sampled };
  } catch (error) {
    if (error instanceof RenderError) {
      throw new TemplateRenderError(`The template does not render: ${error.message}`, {
        details: { problem: error.message },
      });
    }
    throw error;
  }
}

export interface TestSend {
  template: TemplateRecord;
  from: string;
  replyTo?: string[] | undefined;
  to: string[];
  data?: Variables | undefined;
  row?: Variables | undefined;
  variables?: Variables | undefined;
  campaignId?: string;
  configurationSet?: string | undefined;
  /** The template's partials, loaded once for every address (a campaign's pinned versions). */
  partials?: ResolvedPartials | undefined;
}

export async function sendTestEmails(test: TestSend, emails: EmailSender) {
  const results: { to: string; messageId: string }[] = [];
  for (const to of test.to) {
    const rendered = renderPreview(
      test.template,
      { data: test.data, row: test.row, given: { email: to, ...test.variables } },
      { ...(test.campaignId ? { campaignId: test.campaignId } : {}), partials: test.partials },
    );
    const email = {
      from: test.from,
      to,
      ...(test.replyTo ? { replyTo: test.replyTo } : {}),
      subject: `[Test] ${rendered.subject}`,
      html: rendered.html,
      text: rendered.text,
      tags: [{ name: 'sixback_test', value: 'true' }],
      configurationSet: test.configurationSet,
    };
    try {
      const { messageId } = await emails.send(email);
      results.push({ to, messageId });
    } catch (error) {
      const failure = classifySendFailure(error);
      throw new TestSendFailedError(
        `SES did not send the test to ${to}: ${failure.code}: ${failure.message}`,
        {
          cause: error,
          details: { to, code: failure.code, sentBefore: results.map((r) => r.to) },
        },
      );
    }
  }
  return { sent: results, template: { id: test.template.id, version: test.template.version } };
}
