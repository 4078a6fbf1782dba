/** The Prepare step: check the recipients file against the template and write the prepared file. */

import { payloadBytes } from '../aws/limits.ts';
import { itemBytesPerBatch, planSending } from '../campaigns/plan.ts';
import { fitToQuota, type RateDecision } from '../campaigns/quota.ts';
import type { CampaignRecord, PreparedFileRef, RecipientsCheck } from '../campaigns/store.ts';
import { keys } from '../config.ts';
import { RecipientsFileError, SixbackError } from '../errors.ts';
import { type LogAttributes, loggedStep } from '../logging.ts';
import {
  assertUploadUnchanged,
  openRecipientsScan,
  preparedKeyOf,
  writePreparedFile,
} from '../recipients/prepared-file.ts';
import { assertSendable } from '../recipients/scanner.ts';
import { type BatchContext, ExecutionInputSchema, type PreparedCampaign, parseWith } from '../schemas.ts';
import { campaignTracking, configurationSetFor } from '../sending/tracking.ts';
import { compileTemplate } from '../templates/render.ts';
import { preparedAbTest, writeTestFiles } from './ab-test.ts';
import { objectExists, type WorkflowDeps } from './deps.ts';

/**
 * Checks the recipients file and the template against each other and writes the prepared file, then fits
 * the rate and size to the SES quota. Nothing is sent before all of it passed. Campaign creation has
 * usually done the first part already (it read the upload once and wrote the prepared file): then this
 * only verifies that the upload is still the object creation read (RecipientsChangedError if not). A
 * resumed or restarted campaign keeps the prepared file of its first run: rows and their numbers must not
 * change.
 */
export function prepareCampaign(input: unknown, deps: WorkflowDeps): Promise<PreparedCampaign> {
  return loggedStep(deps.logger, 'Prepare', (fields) => prepare(input, deps, fields));
}

async function prepare(input: unknown, deps: WorkflowDeps, fields: LogAttributes): Promise<PreparedCampaign> {
  const { campaignId } = parseWith(ExecutionInputSchema, input, 'execution input');
  fields.campaignId = campaignId;
  // SES's quota (GetAccount) is asked for while the campaign and its files are read, not after: the rate
  // is fitted to it last, and each of these is a round trip before the campaign can start sending.
  const quota = deps.sendQuota ? deps.sendQuota() : Promise.resolve(undefined);
  // Awaited where the rate is fitted; a campaign refused before then never reads it.
  quota.catch(() => undefined);
  let campaign = await deps.campaigns.get(campaignId);
  fields.run = campaign.executions ?? 1;
  let decision: RateDecision;
  let batchInputBytes: number;
  try {
    const reused = await reusablePreparedFile(campaign, deps);
    if (reused) fields.preparedBy = reused;
    else {
      const { check, prepared } = await prepareFromUpload(campaign, deps);
      await deps.campaigns.patch(campaignId, { check, prepared });
      campaign = { ...campaign, check, prepared };
      fields.preparedBy = 'prepare';
    }
    const check = campaign.check as RecipientsCheck;
    Object.assign(fields, {
      rows: check.rows,
      valid: check.valid,
      invalid: check.invalid,
      duplicate: check.duplicates,
    });
    assertSendable(check, campaign.spec.onInvalidRows);
    const split = await writeTestFiles(campaign, deps);
    if (split) await deps.campaigns.patchAbTest(campaignId, split);
    decision = fitToQuota(rowsToSend(campaign), campaign.rate, await quota, campaign.spec.spread ?? false);
    // Every batch carries the campaign context beside its rows; the two share 256 KiB.
    batchInputBytes = payloadBytes(batchContext(campaign, deps, decision.rate, decision.rate));
    itemBytesPerBatch(batchInputBytes);
  } catch (error) {
    if (error instanceof SixbackError) {
      // The user's input is wrong: record why, with details, before the execution fails.
      await deps.campaigns.transition(campaignId, 'failed', {
        statusReason: error.message,
        finishedAt: deps.clock().toISOString(),
      });
    }
    throw error;
  }
  const plan = planSending(
    decision.rate,
    campaign.spec.toleratedFailurePercentage,
    deps.maxWorkerRate,
    campaign.check?.rows,
    batchInputBytes,
  );
  await deps.campaigns.patch(campaignId, {
    plan,
    estimatedSeconds: Math.ceil(decision.estimatedSeconds),
    ...(decision.note ? { rateNote: decision.note } : {}),
  });
  const sendAt = campaign.sendAt;
  Object.assign(fields, {
    rate: plan.rate,
    maxConcurrency: plan.maxConcurrency,
    batchSize: plan.batchSize,
    ...(decision.note ? { rateNote: decision.note } : {}),
  });
  if (sendAt && Date.parse(sendAt) > deps.clock().getTime() && campaign.status === 'pending') {
    await deps.campaigns.transition(campaignId, 'scheduled');
    fields.scheduledFor = sendAt;
  }
  return {
    campaignId,
    ...(sendAt ? { sendAt: new Date(sendAt).toISOString() } : {}),
    recipients: { bucket: deps.bucket, key: preparedKeyOf(campaign) },
    resultPrefix: keys.results(campaignId),
    plan,
    batch: batchContext(campaign, deps, plan.rate / plan.maxConcurrency, plan.rate),
    ...(campaign.abTest ? { abTest: preparedAbTest(campaignId, deps.bucket) } : {}),
  };
}

/** The campaign context every batch gets (the Map's BatchInput). */
function batchContext(
  campaign: CampaignRecord,
  deps: WorkflowDeps,
  workerRate: number,
  campaignRate: number,
): BatchContext {
  return {
    campaignId: campaign.id,
    templateId: campaign.spec.templateId,
    templateVersion: campaign.templateVersion,
    from: campaign.spec.from,
    replyTo: campaign.spec.replyTo ?? [],
    data: campaign.spec.data ?? {},
    workerRate,
    campaignRate,
    // Always present (empty when unset): the ASL's BatchInput reads it by path, and a missing path fails.
    configurationSet:
      deps.configurationSet && deps.trackingConfigurationSets
        ? configurationSetFor(deps.configurationSet, campaignTracking(campaign.spec))
        : (deps.configurationSet ?? ''),
    run: campaign.executions ?? 1,
    mode: campaign.runMode ?? 'all',
    columns: campaign.check?.columns ?? [],
    // Always present (empty without partials), like configurationSet: the BatchInput reads it by path.
    partials: campaign.partials ?? {},
    variants: campaign.abTest?.variants ?? [],
    variant: '',
  };
}

/** How many emails this run will ask SES to send, at most (for the quota check). */
function rowsToSend(campaign: CampaignRecord): number {
  if (campaign.runMode === 'failed') return campaign.totals?.failed ?? 0;
  return Math.max(0, (campaign.check?.valid ?? 0) - (campaign.progress?.sent ?? 0));
}

/**
 * The prepared file this campaign can use without reading the upload again, if any: the one creation (or
 * an earlier run's Prepare) wrote, when its check stands and the object is still there. One creation
 * wrote is used only while the upload is still the object creation read, until the campaign first starts
 * sending; from then on a resumed run keeps its rows whatever became of the upload.
 */
async function reusablePreparedFile(
  campaign: CampaignRecord,
  deps: WorkflowDeps,
): Promise<PreparedFileRef['writtenBy'] | undefined> {
  if (!campaign.check || campaign.check.fatal) return undefined;
  const ref = campaign.prepared;
  const key = preparedKeyOf(campaign);
  const [exists] = await Promise.all([
    objectExists(deps.s3, deps.bucket, key),
    ref?.writtenBy === 'creation' && !campaign.startedAt
      ? assertUploadUnchanged(deps.s3, deps.bucket, ref.source)
      : undefined,
  ]);
  return exists ? (ref?.writtenBy ?? 'prepare') : undefined;
}

/** Reads and checks the upload here (no usable prepared file) and writes the prepared file. */
async function prepareFromUpload(
  campaign: CampaignRecord,
  deps: WorkflowDeps,
): Promise<{ check: RecipientsCheck; prepared: PreparedFileRef }> {
  const stored = await deps.templates.get(campaign.spec.templateId, campaign.templateVersion);
  const template = compileTemplate(
    stored,
    await deps.templates.partials(stored, { selfId: stored.id, pins: campaign.partials }),
  );
  const { source, scanner } = await openRecipientsScan(deps.s3, deps.bucket, campaign.spec, template);
  const key = keys.prepared(campaign.id);
  try {
    const check = await writePreparedFile(deps.s3, deps.bucket, key, scanner);
    return { check, prepared: { key, source, writtenBy: 'prepare' } };
  } catch (error) {
    if (error instanceof RecipientsFileError) {
      // The file cannot be used at all: keep what the scan found, with the fatal problem first, so the
      // campaign shows the user every problem to fix (row 0 stands for the file as a whole).
      const where = (error.details as { line?: number } | undefined)?.line;
      await deps.campaigns.patch(campaign.id, {
        check: {
          ...scanner.check,
          fatal: true,
          problems: [{ row: where ?? 0, problem: error.message }, ...scanner.check.problems],
        },
      });
    }
    throw error;
  }
}
