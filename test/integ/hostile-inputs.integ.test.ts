/**
 * Hostile inputs end to end on the local stack: files as Excel writes them (UTF-16 "Unicode Text",
 * `sep=` lines, trailing empty columns) and addresses in other scripts go through the real Prepare, the
 * state machine and the sender to the local SES, every row in one state; over HTTP, what used to answer
 * a 500 or silently do something else is a 4xx saying what to fix (docs/hostile-inputs.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resumeCampaign } from '../../core/campaigns/runs.ts';
import { createCampaign, stopCampaign } from '../../core/campaigns/service.ts';
import { IllegalTransitionError } from '../../core/errors.ts';
import { type ApiTest, startApiTest } from '../api/support.ts';
import { BASE_REQUEST, reportRows, TEMPLATE } from '../support/guarantees.ts';
import { inbox, runCampaign, saveTemplate, uploadCsv } from '../support/local-stack.ts';

describe('hostile inputs on the local stack', () => {
  let api: ApiTest;
  beforeAll(async () => {
    api = await startApiTest();
    await saveTemplate(api.stack, 'plain', TEMPLATE);
  });
  afterAll(async () => api?.stop());

  it('sends an Excel "Unicode Text" file with a sep line, trailing empty columns and an IDN address, each row once', async () => {
    const text =
      'sep=\t\r\nemail\tfirst_name\t\t\r\nada@example.com\tAda\t\t\r\njorg@bücher.de\tJörg\t\t\r\n' +
      'Bob <bob@example.com>\tBob\t\t\r\nada@EXAMPLE.com\tAda again\t\t\r\n';
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const recipientsKey = await uploadCsv(api.stack, 'unicode-text.csv', utf16);
    const { campaign } = await runCampaign(api.stack, { ...BASE_REQUEST, recipientsKey });
    expect(campaign.status).toBe('completed');
    expect(campaign.totals).toMatchObject({ rows: 4, sent: 2, invalid: 1, duplicate: 1 });
    const report = await reportRows(api.stack, campaign);
    expect(report.map((r) => [r.row, r.email, r.state])).toEqual([
      ['2', 'ada@example.com', 'sent'],
      ['3', 'jorg@xn--bcher-kva.de', 'sent'],
      ['4', 'Bob <bob@example.com>', 'invalid'],
      ['5', 'ada@EXAMPLE.com', 'duplicate'],
    ]);
    expect(report[1]?.reason).toBe(
      'sent to jorg@xn--bcher-kva.de: the domain bücher.de in ASCII (Punycode), which SES requires',
    );
    expect(report[2]?.reason).toContain('put only the address (bob@example.com) in the email column');
    const mail = (await inbox(api.stack)).filter((m) => m.subject.startsWith('Hello '));
    expect(mail.map((m) => [m.destination.to[0], m.subject]).sort()).toEqual([
      ['ada@example.com', 'Hello Ada'],
      ['jorg@xn--bcher-kva.de', 'Hello Jörg'],
    ]);
  });

  it('answers a template too large for DynamoDB with a 400 that says what to do, not a 500', async () => {
    const html = `<a href="{{ unsubscribe_url }}">u</a>${'a'.repeat(390_000)}`;
    const res = await api.call('PUT', '/v1/templates/big', { subject: 's', html, text: 'b'.repeat(390_000) });
    expect(res.status).toBe(400);
    expect((res.body.error as { message: string }).message).toMatch(
      new RegExp(
        `^The template takes \\d+ bytes stored \\(HTML ${Buffer.byteLength(html)}, text 390000, subject 1\\); a stored template holds at most 409600 bytes`,
      ),
    );
  });

  it('refuses a misspelt campaign field and an impossible send time over HTTP instead of sending now or another day', async () => {
    const body = { ...BASE_REQUEST, recipientsKey: 'uploads/recipients/none.csv' };
    const typo = await api.call('POST', '/v1/campaigns', { ...body, send_at: '2027-01-05T09:00:00Z' });
    expect(typo.status).toBe(400);
    expect((typo.body.error as { message: string }).message).toBe(
      'Invalid campaign: (root): unknown field "send_at" (did you mean "sendAt"?)',
    );
    const february = await api.call('POST', '/v1/campaigns', { ...body, sendAt: '2027-02-30T09:00:00Z' });
    expect(february.status).toBe(400);
    expect((february.body.error as { message: string }).message).toBe(
      '"2027-02-30T09:00:00Z" is not a real date and time.',
    );
  });

  it('answers a preview of a runaway loop at once with a 422 that says so', async () => {
    const started = Date.now();
    const res = await api.call('POST', '/v1/templates/preview', {
      template: { subject: 's', html: '{% for i in (1..1000000000) %}{{ i }}{% endfor %}' },
    });
    expect(res.status).toBe(422);
    expect((res.body.error as { message: string }).message).toMatch(/too much work for one email/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('starts one run, not five, when five resumes of a stopped campaign arrive at once', async () => {
    const recipientsKey = await uploadCsv(api.stack, 'resume.csv', 'email,first_name\nada@example.com,Ada\n');
    const sendAt = new Date(Date.now() + 3_600_000).toISOString();
    const created = await createCampaign({ ...BASE_REQUEST, recipientsKey, sendAt }, api.stack.campaignDeps);
    await stopCampaign(created.id, api.stack.campaignDeps);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, () => resumeCampaign(created.id, api.stack.campaignDeps)),
    );
    const started = outcomes.filter((o) => o.status === 'fulfilled');
    expect(started).toHaveLength(1);
    for (const o of outcomes)
      if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(IllegalTransitionError);
    const campaign = await api.stack.deps.campaigns.get(created.id);
    expect(campaign.executions).toBe(2);
    await stopCampaign(created.id, api.stack.campaignDeps);
  });
});
