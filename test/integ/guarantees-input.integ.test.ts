/**
 * Bad input never half-runs: every check of the recipients file happens before the first email. A fatal
 * problem either stops the campaign from being created (the header is wrong) or ends it as failed in
 * Prepare with the reason and the problems on the record, and nothing is sent; row-level problems are
 * recorded as invalid rows (onInvalidRows: skip) or refuse the whole campaign (abort). The SES stand-in
 * proves what was sent.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCampaign } from '../../core/campaigns/service.ts';
import type { CampaignRecord } from '../../core/campaigns/store.ts';
import { InvalidRowsError, RecipientsFileError } from '../../core/errors.ts';
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

  /** The campaign starts, Prepare finds the file unusable: failed, with the reason, nothing sent. */
  async function failedInPrepare(body: string | Uint8Array, extra: Record<string, unknown> = {}) {
    const recipientsKey = await upload(body);
    const { campaign, execution } = await runCampaign(stack, { ...BASE_REQUEST, recipientsKey, ...extra });
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

  it('refuses a file that is not a CSV at all (binary) and one in another delimiter', async () => {
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48]);
    expect(await refusedAtCreate(png)).toBe(
      'This is not a CSV file: it contains binary data (a zero byte at byte 8). Export the list as "CSV UTF-8".',
    );
    expect(await refusedAtCreate('email;first_name\nada@example.com;Ada\n')).toBe(
      'The header row is one column, "email;first_name": the file seems to use another delimiter. Use commas.',
    );
  });

  it('refuses bytes that are not UTF-8: at creation near the top, in Prepare further down, sending nothing', async () => {
    const latin1Row = Buffer.from([
      0x74, 0x69, 0x6d, 0x40, 0x65, 0x78, 0x2e, 0x63, 0x6f, 0x6d, 0x2c, 0x54, 0xe9, 0x0a,
    ]);
    const notUtf8 =
      /^The recipients file is not UTF-8 text \(the file is not valid UTF-8 \(near byte \d+\)\)\. Save it as "CSV UTF-8"\.$/;
    const head = Buffer.from('email,first_name\nada@example.com,Ada\n');
    expect(await refusedAtCreate(Buffer.concat([head, latin1Row]))).toMatch(notUtf8);

    // Far enough down that creating the campaign (which reads the header and first row) does not see it.
    const rows = Array.from({ length: 20_000 }, (_, i) => `u${i}@example.com,U${i}`).join('\n');
    const campaign = await failedInPrepare(
      Buffer.concat([Buffer.from(`email,first_name\n${rows}\n`), latin1Row]),
    );
    expect(campaign.statusReason).toMatch(notUtf8);
    expect(campaign.check?.fatal).toBe(true);
    expect(campaign.check?.problems[0]?.problem).toBe(campaign.statusReason);
  });

  it('fails in Prepare on a quote that is never closed, naming the line', async () => {
    const campaign = await failedInPrepare(
      'email,first_name\nada@example.com,Ada\ngrace@example.com,"Grace\n',
    );
    expect(campaign.statusReason).toBe(
      'The recipients file is not a valid CSV: a quoted field that starts on line 3 is never closed. Close the quote or remove the stray quote character.',
    );
    expect(campaign.check?.problems[0]).toEqual({ row: 3, problem: campaign.statusReason });
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
    expect(campaign.totals).toEqual({ rows: 3, sent: 3, duplicate: 0, suppressed: 0, invalid: 0, failed: 0 });
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
    expect(campaign.totals).toEqual({ rows: 7, sent: 1, duplicate: 0, suppressed: 0, invalid: 6, failed: 0 });
    expect(campaign.check?.problems).toEqual([
      { row: 2, problem: 'has 1 fields but the header has 2' },
      { row: 3, problem: 'has 3 fields but the header has 2' },
      { row: 4, problem: '"not-an-address" has no user@domain form' },
      { row: 5, problem: '"b" is not a valid domain' },
      { row: 6, problem: 'email is empty' },
      { row: 7, problem: expect.stringMatching(/^is \d+ bytes once packed; a row may hold at most 65536$/) },
    ]);
    expectEachExactly(standin.counts(), ['tim@example.com']);
    const report = await reportRows(stack, campaign);
    expect(countStates(report)).toEqual({ invalid: 6, sent: 1 });
    expect(report.find((r) => r.row === '4')).toMatchObject({
      state: 'invalid',
      reason: '"not-an-address" has no user@domain form',
    });
  });

  it('sends nothing when the same rows are invalid and the user chose onInvalidRows: abort', async () => {
    const csv = 'email,first_name\nada@example.com,Ada\nnot-an-address,Nobody\ntim@example.com,Tim\n';
    const recipientsKey = await upload(csv);
    const { campaign } = await runCampaign(stack, { ...BASE_REQUEST, recipientsKey, onInvalidRows: 'abort' });
    expect(campaign.status).toBe('failed');
    expect(campaign.statusReason).toBe(
      '1 of 3 rows are invalid and the campaign was set to send nothing in that case. First problem: row 3: "not-an-address" has no user@domain form.',
    );
    expect(campaign.check?.problems).toEqual([
      { row: 3, problem: '"not-an-address" has no user@domain form' },
    ]);
    expect(standin.accepted).toBe(0);
    // The error class the API maps to 422, by name.
    expect(new InvalidRowsError('x').code).toBe('invalid_rows');
  });

  it('fails in Prepare when no row at all can be sent', async () => {
    const campaign = await failedInPrepare('email,first_name\nnope,A\n,B\n');
    expect(campaign.statusReason).toBe('None of the 2 rows can be sent to (2 invalid, 0 duplicates).');
  });
});
