/**
 * Generated recipients files through the real Prepare step (S3 in, the prepared file out, the campaign
 * record updated) and, for one, a whole campaign on the local engine: every row ends in exactly one state,
 * the report has one line per row, and every value that reaches the sender is the exact cell.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampaignServiceDeps } from '../../core/campaigns/deps.ts';
import { createCampaign, newCampaignId } from '../../core/campaigns/service.ts';
import { emptyCounts } from '../../core/campaigns/status.ts';
import { keys } from '../../core/config.ts';
import { assertSendable, checkRecipients } from '../../core/recipients/scanner.ts';
import { CampaignRequestSchema, parseWith, type ShortRowAction } from '../../core/schemas.ts';
import { prepareCampaign } from '../../core/workflow/prepare.ts';
import { type SesStandin, startSesStandin } from '../../local/ses-standin.ts';
import type { LocalStack } from '../../local/stack.ts';
import { csvParseRecords, decodePrepared, expectedRows, generatedCsv } from '../support/csv-gen.ts';
import { expectEachExactly, FROM, reportRows } from '../support/guarantees.ts';
import { readObject, runCampaign, saveTemplate, startTestStack, uploadCsv } from '../support/local-stack.ts';

describe('generated recipients files, end to end', () => {
  let standin: SesStandin;
  let stack: LocalStack;
  let n = 0;

  beforeAll(async () => {
    standin = await startSesStandin();
    stack = await startTestStack({ sesEndpoint: standin.url });
    // No variables: the generated headers are random, and the check of variables is tested elsewhere.
    await saveTemplate(stack, 'gen', { subject: 'Hello', html: '<p>Hello</p>' });
  });
  afterAll(async () => {
    await stack?.stop();
    await standin?.close();
  });

  const request = (recipientsKey: string, shortRows: ShortRowAction) => ({
    templateId: 'gen',
    from: FROM,
    transactional: true,
    recipientsKey,
    shortRows,
  });

  it('Prepare writes one prepared row per data row, in its state, with the exact cells', async () => {
    await fc.assert(
      fc.asyncProperty(
        generatedCsv,
        fc.constantFrom<ShortRowAction>('skip', 'pad'),
        async (csv, shortRows) => {
          const expected = expectedRows(csv, shortRows);
          fc.pre(expected.length > 0);
          const recipientsKey = await uploadCsv(stack, `gen-${++n}.csv`, csv.text);
          const spec = parseWith(CampaignRequestSchema, request(recipientsKey, shortRows), 'campaign');
          const id = newCampaignId();
          const now = new Date().toISOString();
          await stack.deps.campaigns.create({
            ...{ id, kind: 'campaign', name: 'generated', status: 'pending', spec, templateVersion: 1 },
            ...{ rate: 100, createdAt: now, updatedAt: now, executions: 1, progress: emptyCounts() },
          });
          const outcome = await prepareCampaign({ campaignId: id }, stack.deps.workflow).then(
            () => 'prepared',
            (error: Error) => error.message,
          );
          const campaign = await stack.deps.campaigns.get(id);
          if (!expected.some((r) => r.state === 'ok')) {
            expect(outcome).toMatch(/^None of the \d+ rows can be sent to/);
            expect(campaign.status).toBe('failed');
          } else expect(outcome).toBe('prepared');
          const out = await stack.deps.clients.s3.send(
            new GetObjectCommand({ Bucket: stack.config.bucket, Key: keys.prepared(id) }),
          );
          const prepared = (await out.Body?.transformToString('utf8')) ?? '';
          const rows = await decodePrepared(prepared, campaign.check?.columns ?? []);
          expect(rows).toEqual(expected);
          expect(campaign.check?.rows).toBe(expected.length);
          // And csv-parse agrees on the cells of every row that will be sent.
          const records = csvParseRecords(csv);
          for (const row of rows) {
            if (!row.vars) continue;
            const cells = records[row.row - 1] as string[];
            csv.header.forEach((name, i) => {
              const cell = cells[i] ?? '';
              expect(row.vars?.[name]).toBe(i === csv.emailIndex ? cell.trim() : cell);
            });
          }
        },
      ),
      { seed: 12, numRuns: 15 },
    );
  });

  it("creation's one read gives the check and prepared file of the two reads before it (creation's check, then Prepare's)", async () => {
    // Creation without starting the execution, so Prepare is run here on a record of its own.
    const held: CampaignServiceDeps = {
      ...stack.campaignDeps,
      orchestrator: {
        ...stack.campaignDeps.orchestrator,
        start: async (name) => ({ executionArn: `held:${name}` }),
      },
    };
    const outcome = (promise: Promise<unknown>) =>
      promise.then(
        () => 'ok',
        (error: Error) => `${error.name}: ${error.message}`,
      );
    await fc.assert(
      fc.asyncProperty(
        generatedCsv,
        // Mostly options that accept the file, so both sides of the property are met often.
        fc.constantFrom<ShortRowAction>('skip', 'pad', 'skip', 'pad', 'refuse'),
        fc.constantFrom<'skip' | 'abort'>('skip', 'skip', 'skip', 'abort'),
        async (csv, shortRows, onInvalidRows) => {
          const recipientsKey = await uploadCsv(stack, `gen-${++n}.csv`, csv.text);
          const asked = { ...request(recipientsKey, shortRows), onInvalidRows };
          // Before: the creation check, then Prepare reading the upload again on a record without a check.
          let twoReadCheck: Awaited<ReturnType<typeof checkRecipients>> | undefined;
          const checked = await outcome(
            (async () => {
              const body = await stack.deps.clients.s3.send(
                new GetObjectCommand({ Bucket: stack.config.bucket, Key: recipientsKey }),
              );
              twoReadCheck = await checkRecipients(body.Body as AsyncIterable<Uint8Array>, { shortRows });
              assertSendable(twoReadCheck, onInvalidRows);
            })(),
          );
          const spec = parseWith(CampaignRequestSchema, asked, 'campaign');
          const id = newCampaignId();
          const now = new Date().toISOString();
          await stack.deps.campaigns.create({
            ...{ id, kind: 'campaign', name: 'two reads', status: 'pending', spec, templateVersion: 1 },
            ...{ rate: 100, createdAt: now, updatedAt: now, executions: 1, progress: emptyCounts() },
          });
          const prepared = await outcome(prepareCampaign({ campaignId: id }, stack.deps.workflow));
          // After: one read at creation, and Prepare using its file.
          const created = await createCampaign(asked, held).catch((error: Error) => error);
          if (created instanceof Error) {
            expect(`${created.name}: ${created.message}`).toBe(checked);
            return;
          }
          expect(checked).toBe('ok');
          expect(prepared).toBe('ok');
          const before = await stack.deps.campaigns.get(id);
          expect(created.check).toEqual(before.check);
          expect(created.check).toEqual(twoReadCheck);
          const oneRead = await readObject(stack, created.prepared?.key as string);
          expect(oneRead).toBe(await readObject(stack, keys.prepared(id)));
          const out = await prepareCampaign({ campaignId: created.id }, stack.deps.workflow);
          expect(out.recipients.key).toBe(created.prepared?.key);
          expect((await stack.deps.campaigns.get(created.id)).check).toEqual(before.check);
        },
      ),
      { seed: 18, numRuns: 30 },
    );
  });

  it('a generated file sent on the local engine: rows in = sent + duplicate + invalid, per row', async () => {
    const [csv] = fc.sample(
      generatedCsv.filter((g) => expectedRows(g, 'skip').filter((r) => r.state === 'ok').length >= 3),
      { seed: 12, numRuns: 1 },
    );
    if (!csv) throw new Error('no sample');
    const expected = expectedRows(csv, 'skip');
    standin.reset();
    const recipientsKey = await uploadCsv(stack, `gen-${++n}.csv`, csv.text);
    const { campaign } = await runCampaign(stack, request(recipientsKey, 'skip'));
    expect(campaign.status).toBe('completed');
    const report = await reportRows(stack, campaign);
    expect(report.map((r) => Number(r.row))).toEqual(expected.map((r) => r.row));
    const sentState = { ok: 'sent', invalid: 'invalid', duplicate: 'duplicate' } as const;
    expect(report.map((r) => r.state)).toEqual(expected.map((r) => sentState[r.state]));
    expect(campaign.totals).toMatchObject({
      rows: expected.length,
      sent: expected.filter((r) => r.state === 'ok').length,
      invalid: expected.filter((r) => r.state === 'invalid').length,
      duplicate: expected.filter((r) => r.state === 'duplicate').length,
      failed: 0,
      not_sent: 0,
    });
    const emailColumn = csv.header[csv.emailIndex] as string;
    expectEachExactly(
      standin.counts(),
      expected.flatMap((r) => (r.vars ? [r.vars[emailColumn] as string] : [])),
    );
  });
});
