/**
 * Bad input never half-runs: every check of the recipients file happens before the first email. Creating
 * a campaign runs the whole check Prepare runs, so a file Prepare would refuse is refused when the
 * campaign is created; a file that changed after that fails in Prepare with the reason and the problems
 * on the record, and its report says why nothing was sent. Row-level problems are recorded as invalid
 * rows (onInvalidRows: skip) or refuse the whole campaign (abort). The SES stand-in proves what was sent.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { executionName } from '../../core/campaigns/deps.ts';
import { reportCampaign } from '../../core/campaigns/runs.ts';
import { createCampaign, newCampaignId } from '../../core/campaigns/service.ts';
import { emptyCounts } from '../../core/campaigns/status.ts';
import type { CampaignRecord } from '../../core/campaigns/store.ts';
import { InvalidRowsError, RecipientsFileError } from '../../core/errors.ts';
import { CampaignRequestSchema, parseWith } from '../../core/schemas.ts';
import { type SesStandin, startSesStandin } from '../../local/ses-standin.ts';
import type { LocalStack } from '../../local/stack.ts';
import { BASE_REQUEST, countStates, expectEachExactly, reportRows, TEMPLATE } from '../support/guarantees.ts';
import { runCampaign, saveTemplate, startTestStack, uploadCsv } from '../support/local-stack.ts';

describe('bad recipients files', () => {
  let standin: SesStandin;
  let stack: LocalStack;
  let n = 0;

  beforeAll(async () => {
    standin = await startSesStandin();
    stack = await startTestStack({ sesEndpoint: standin.url });
    await saveTemplate(stack, 'plain', TEMPLATE);
  });
  afterAll(async () => {
    await stack?.stop();
    await standin?.close();
  });
  beforeEach(() => standin.reset());

  const upload = (body: string | Uint8Array) => uploadCsv(stack, `input-${++n}.csv`, body);

  /** The campaign is refused when created: nothing recorded, nothing started, nothing sent. */
  async function refusedAtCreate(body: string | Uint8Array, extra: Record<string, unknown> = {}) {
    const recipientsKey = await upload(body);
    const error = await createCampaign(
      { ...BASE_REQUEST, recipientsKey, ...extra },
      stack.campaignDeps,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecipientsFileError);
    expect(standin.accepted).toBe(0);
    return (error as Error).message;
  }

  /**
   * Prepare finds the file unusable: failed, with the reason, nothing sent. Creation refuses such a file,
   * so the campaign is recorded here as creation records it, as if the file had been replaced (a new
   * upload under the same key) after the check: Prepare is the last line of defence.
   */
  async function failedInPrepare(body: string | Uint8Array, extra: Record<string, unknown> = {}) {
    const recipientsKey = await upload(body);
    const spec = parseWith(CampaignRequestSchema, { ...BASE_REQUEST, recipientsKey, ...extra }, 'campaign');
    const id = newCampaignId();
    const now = new Date().toISOString();
    const template = await stack.deps.templates.get(spec.templateId);
    await stack.deps.campaigns.create({
      id,
      kind: 'campaign',
      name: 'file replaced after creation',
      status: 'pending',
      spec,
      templateVersion: template.version,
      rate: 100,
      createdAt: now,
      updatedAt: now,
      executions: 1,
      progress: emptyCounts(),
    });
    const { executionArn } = await stack.campaignDeps.orchestrator.start(executionName(id, 1), {
      campaignId: id,
    });
    const execution = await stack.engine.wait(executionArn);
    const campaign = await stack.deps.campaigns.get(id);
    expect(execution.status).toBe('FAILED');
    expect(campaign.status).toBe('failed');
    expect(standin.accepted).toBe(0);
    return campaign;
  }

  async function sent(
    body: string | Uint8Array,
    extra: Record<string, unknown> = {},
  ): Promise<CampaignRecord> {
    const recipientsKey = await upload(body);
    const { campaign } = await runCampaign(stack, { ...BASE_REQUEST, recipientsKey, ...extra });
    return campaign;
  }

  it('refuses a file with no email column, naming the columns it has', async () => {
    expect(await refusedAtCreate('name,mail_addr\nAda,ada@example.com\n')).toBe(
      'No email column: the header has "name", "mail_addr". Name the address column "email", or choose it with emailColumn.',
    );
  });

  it('refuses an emailColumn that is not in the header', async () => {
    expect(
      await refusedAtCreate('email,first_name\nada@example.com,Ada\n', { emailColumn: 'Email Address' }),
    ).toBe('No column named "Email Address": the header has "email", "first_name".');
  });

  it('refuses an empty file and a header without rows', async () => {
    expect(await refusedAtCreate('')).toBe(
      'The recipients file is empty. It needs a header row and one row per recipient.',
    );
    expect(await refusedAtCreate('\n\n')).toBe(
      'The recipients file is empty. It needs a header row and one row per recipient.',
    );
    expect(await refusedAtCreate('email,first_name\n')).toBe(
      'The recipients file has a header (email, first_name) but no recipient rows.',
    );
  });

  it('refuses a file that is not a CSV at all (binary) and one delimited by pipes', async () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48]);
    expect(await refusedAtCreate(png)).toBe(
      'This is not a CSV file: it contains binary data (a zero byte (NUL) on line 3). Export the list as "CSV UTF-8".',
    );
    expect(await refusedAtCreate('email|first_name\nada@example.com|Ada\n')).toBe(
      'The header row is one column, "email|first_name": the file seems to use "|" between columns. Save it as CSV with commas (or semicolons or tabs).',
    );
  });

  it('sends a semicolon-delimited file (Excel in many locales) as the columns it names', async () => {
    const campaign = await sent(
      'email;first_name\r\nada@example.com;Ada\r\ngrace@example.com;"Grace; G"\r\n',
    );
    expect(campaign.check).toMatchObject({ delimiter: ';', columns: ['email', 'first_name'], valid: 2 });
    expect(campaign.totals).toMatchObject({ rows: 2, sent: 2 });
    expectEachExactly(standin.counts(), ['ada@example.com', 'grace@example.com']);
  });

  it('refuses bytes that are not UTF-8 at creation, wherever they are; Prepare refuses them too and the report says why nothing was sent', async () => {
    const latin1Row = Buffer.from([
      0x74, 0x69, 0x6d, 0x40, 0x65, 0x78, 0x2e, 0x63, 0x6f, 0x6d, 0x2c, 0x54, 0xe9, 0x0a,
    ]);
    const notUtf8 =
      /^The recipients file is not UTF-8 text: line \d+ has the byte 0x[0-9A-F]{2} \(byte \d+ of the file\)(, which is ".+" in Windows-1252 \(Excel's plain "CSV"\))?\. Save it as "CSV UTF-8"\.$/;
    const head = Buffer.from('email,first_name\nada@example.com,Ada\n');
    expect(await refusedAtCreate(Buffer.concat([head, latin1Row]))).toMatch(notUtf8);

    // Far down the file: creation used to read only the header and the first row, and accepted it.
    const rows = Array.from({ length: 20_000 }, (_, i) => `u${i}@example.com,U${i}`).join('\n');
    const far = Buffer.concat([Buffer.from(`email,first_name\n${rows}\n`), latin1Row]);
    expect(await refusedAtCreate(far)).toMatch(notUtf8);

    const campaign = await failedInPrepare(far);
    expect(campaign.statusReason).toMatch(notUtf8);
    expect(campaign.check?.fatal).toBe(true);
    expect(campaign.check?.problems[0]?.problem).toBe(campaign.statusReason);
    // The file's rows are not known: one line for the file as a whole (row 0, as in the check).
    expect(await reportRows(stack, campaign)).toEqual([
      {
        row: '0',
        email: '',
        state: 'not_sent',
        message_id: '',
        reason: `nothing was sent: ${campaign.statusReason}`,
      },
    ]);
  });

  it('refuses a quote that is never closed at creation, naming the line; Prepare too, and GET report explains', async () => {
    const csv = 'email,first_name\nada@example.com,Ada\ngrace@example.com,"Grace\ntim@example.com,Tim\n';
    const message =
      'The recipients file is not a valid CSV: a quoted field that starts on line 3 is never closed. Close the quote or remove the stray quote character.';
    expect(await refusedAtCreate(csv)).toBe(message);
    const campaign = await failedInPrepare(csv);
    expect(campaign.statusReason).toBe(message);
    expect(campaign.check?.problems[0]).toEqual({ row: 3, problem: message });
    // What GET /v1/campaigns/:id/report calls: it used to answer 422 naming the internal prepared file.
    const reported = await reportCampaign(campaign.id, stack.campaignDeps);
    expect(reported.reportKey).toBeDefined();
    const report = await reportRows(stack, reported);
    expect(report).toEqual([
      expect.objectContaining({ row: '0', state: 'not_sent', reason: `nothing was sent: ${message}` }),
    ]);
    expect(reported.totals).toMatchObject({ rows: 0, sent: 0, failed: 0 });
  });

  it('sends every row of a file with stray quotes and backslashes, none swallowed by another', async () => {
    const csv = [
      'email,first_name,height,where',
      `ada@example.com,Ada,5'11",37°36'37.8"N`,
      `grace@example.com,Grace,6'0",C:\\new\\x`,
      `tim@example.com,"Tim ""T"" B",5'9",\\"`,
    ].join('\n');
    const campaign = await sent(csv);
    expect(campaign.totals).toMatchObject({ rows: 3, sent: 3, invalid: 0 });
    expectEachExactly(standin.counts(), ['ada@example.com', 'grace@example.com', 'tim@example.com']);
  });

  it('reads a BOM, CRLF line ends, quoted commas and line breaks, and blank lines as a spreadsheet would', async () => {
    const csv =
      '\uFEFFemail,first_name,note\r\n' +
      'ada@example.com,"Lovelace, Ada",\r\n' +
      '\r\n' +
      'grace@example.com,Grace,"two\r\nlines"\r\n' +
      '\r\n\r\n' +
      'tim@example.com,Tim,"say ""hi"""\r\n';
    const campaign = await sent(csv);
    expect(campaign.status).toBe('completed');
    expect(campaign.check?.columns).toEqual(['email', 'first_name', 'note']);
    expect(campaign.check?.blankLines).toBe(3);
    expect(campaign.totals).toEqual({
      rows: 3,
      sent: 3,
      duplicate: 0,
      suppressed: 0,
      invalid: 0,
      failed: 0,
      not_sent: 0,
    });
    expectEachExactly(standin.counts(), ['ada@example.com', 'grace@example.com', 'tim@example.com']);
  });

  it('records rows with too few or too many fields, bad addresses and oversized rows as invalid, and sends the rest', async () => {
    const huge = 'x'.repeat(70_000);
    const csv = [
      'email,first_name',
      'ada@example.com', // too few fields
      'grace@example.com,Grace,extra', // too many
      'not-an-address,Nobody',
      'a@b,Short domain',
      ',Empty',
      `big@example.com,${huge}`,
      'tim@example.com,Tim',
    ].join('\n');
    const campaign = await sent(csv);
    expect(campaign.status).toBe('completed');
    expect(campaign.totals).toEqual({
      rows: 7,
      sent: 1,
      duplicate: 0,
      suppressed: 0,
      invalid: 6,
      failed: 0,
      not_sent: 0,
    });
    expect(campaign.check?.problems).toEqual([
      { row: 2, problem: 'has 1 fields but the header has 2 (a short row)' },
      { row: 3, problem: 'has 3 fields but the header has 2; the extra values would be lost' },
      { row: 4, problem: '"not-an-address" has no user@domain form' },
      { row: 5, problem: expect.stringMatching(/^"b" is not a valid domain: it has no dot/) },
      { row: 6, problem: 'email is empty' },
      { row: 7, problem: expect.stringMatching(/^is \d+ bytes once packed; a row may hold at most 65536$/) },
    ]);
    expect(campaign.check).toMatchObject({ shortRows: 1, shortRowNumbers: [2] });
    expectEachExactly(standin.counts(), ['tim@example.com']);
    const report = await reportRows(stack, campaign);
    expect(countStates(report)).toEqual({ invalid: 6, sent: 1 });
    expect(report.find((r) => r.row === '4')).toMatchObject({
      state: 'invalid',
      reason: '"not-an-address" has no user@domain form',
    });
  });

  it('short rows: skipped and named by default, padded and sent with shortRows: pad, the file refused with refuse', async () => {
    const csv = 'email,first_name\nada@example.com,Ada\ngrace@example.com\ntim@example.com,Tim\n';
    const skipped = await sent(csv);
    expect(skipped.totals).toMatchObject({ rows: 3, sent: 2, invalid: 1 });
    expect(skipped.check).toMatchObject({ shortRows: 1, shortRowNumbers: [3] });
    expect((await reportRows(stack, skipped)).find((r) => r.row === '3')).toMatchObject({
      state: 'invalid',
      reason: 'has 1 fields but the header has 2 (a short row)',
    });
    expectEachExactly(standin.counts(), ['ada@example.com', 'tim@example.com']);

    standin.reset();
    const padded = await sent(csv, { shortRows: 'pad' });
    expect(padded.totals).toMatchObject({ rows: 3, sent: 3, invalid: 0 });
    expect((await reportRows(stack, padded)).find((r) => r.row === '3')).toMatchObject({
      state: 'sent',
      reason: 'padded: has 1 fields but the header has 2; the missing values were sent empty',
    });
    expectEachExactly(standin.counts(), ['ada@example.com', 'grace@example.com', 'tim@example.com']);

    standin.reset();
    expect(await refusedAtCreate(csv, { shortRows: 'refuse' })).toMatch(
      /^1 rows have fewer fields than the header \(2\): row 3\. /,
    );
  });

  it('refuses at creation a file with invalid rows when the user chose onInvalidRows: abort; Prepare too, reporting every row', async () => {
    const csv = 'email,first_name\nada@example.com,Ada\nnot-an-address,Nobody\ntim@example.com,Tim\n';
    const recipientsKey = await upload(csv);
    const error = await createCampaign(
      { ...BASE_REQUEST, recipientsKey, onInvalidRows: 'abort' },
      stack.campaignDeps,
    ).catch((e: unknown) => e);
    const message =
      '1 of 3 rows are invalid and the campaign was set to send nothing in that case. First problem: row 3: "not-an-address" has no user@domain form.';
    expect(error).toBeInstanceOf(InvalidRowsError);
    expect((error as Error).message).toBe(message);
    // The error class the API maps to 422, by name.
    expect((error as InvalidRowsError).code).toBe('invalid_rows');

    const campaign = await failedInPrepare(csv, { onInvalidRows: 'abort' });
    expect(campaign.statusReason).toBe(message);
    expect(campaign.check?.problems).toEqual([
      { row: 3, problem: '"not-an-address" has no user@domain form' },
    ]);
    // Every row is in the report: the invalid one as invalid, the others as never attempted.
    const report = await reportRows(stack, campaign);
    expect(report.map((r) => [r.row, r.state])).toEqual([
      ['2', 'not_sent'],
      ['3', 'invalid'],
      ['4', 'not_sent'],
    ]);
    expect(report[0]?.reason).toBe(`not sent: ${message}`);
    expect(campaign.totals).toMatchObject({ rows: 3, invalid: 1, not_sent: 2, failed: 0, sent: 0 });
  });

  it('refuses at creation a file where no row at all can be sent', async () => {
    expect(await refusedAtCreate('email,first_name\nnope,A\n,B\n')).toBe(
      'None of the 2 rows can be sent to (2 invalid, 0 duplicates).',
    );
  });
});
