/** Creating, starting and stopping campaigns: what the API and the CLI call. */
import { createHash, randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { AWS_LIMITS } from '../aws/limits.ts';
import { assertAllowedSender, assertUnsubscribeLink } from '../compliance/policy.ts';
import { keys } from '../config.ts';
import { ConflictError, ValidationError } from '../errors.ts';
import { discardPreparedFile, openRecipientsScan, writePreparedFile } from '../recipients/prepared-file.ts';
import { assertSendable } from '../recipients/scanner.ts';
import { CampaignRequestSchema, type CampaignSpec, MAX_DECISION_SECONDS, parseWith } from '../schemas.ts';
import { campaignTracking } from '../sending/tracking.ts';
import {
  assertTextVariables,
  assertVariablesProvided,
  type CompiledTemplate,
  compileTemplate,
} from '../templates/render.ts';
import { newAbTestRecord, resolveVariants } from '../workflow/ab-test.ts';
import { type CampaignServiceDeps, executionName } from './deps.ts';
import { reportAfterStop } from './runs.ts';
import { formatInZone } from './schedule.ts';
import { emptyCounts } from './status.ts';
import type { CampaignRecord, PreparedFileRef, RecipientsCheck } from './store.ts';

const PAST_TOLERANCE_MS = 5 * 60 * 1000;

export function newCampaignId(): string {
  return `c${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}

/** A client retrying with the same idempotency key gets the same campaign id, hence the same campaign. */
export function campaignIdForKey(idempotencyKey: string): string {
  return `k${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24)}`;
}

/** JSON with keys sorted, so two equal specs compare equal whatever order DynamoDB returned. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What an Idempotency-Key is bound to: the hash of the parsed request (defaults filled in). */
function requestHashOf(spec: unknown): string {
  return createHash('sha256').update(canonical(spec)).digest('hex');
}

/**
 * The campaign already stored under an Idempotency-Key answers a request with the same key: the same
 * request is a replay; a different one is a client bug (409). Used both when the record is found first and
 * when a concurrent request won the conditional create, so the check holds under concurrency.
 */
function replayOrConflict(existing: CampaignRecord, requestHash: string): CreateOutcome {
  const stored = existing.requestHash ?? requestHashOf(existing.spec);
  if (stored !== requestHash) {
    throw new ConflictError(
      'This Idempotency-Key was already used for a different campaign request. Use a new key.',
      { details: { campaignId: existing.id } },
    );
  }
  return { campaign: existing, replayed: true };
}

export interface CreateOutcome {
  campaign: CampaignRecord;
  /** True when the Idempotency-Key had already created this campaign (this request changed nothing). */
  replayed: boolean;
}

/**
 * Reads an uploaded CSV once, runs every check Prepare would run on it (the whole file, streamed; the
 * template's variables against its header; what the campaign's options make of
 * its invalid and short rows), and streams the prepared file to S3 as it goes, so a campaign is refused
 * when it is created rather than failed after it started, and Prepare need not read the file again. A
 * refused file leaves no prepared file (the multipart upload is aborted). Sends nothing.
 */
async function checkAndPrepareRecipients(
  s3: S3Client,
  bucket: string,
  spec: CampaignSpec,
  preparedKey: string,
  template: CompiledTemplate,
): Promise<{ check: RecipientsCheck; prepared: PreparedFileRef }> {
  const { body, source, scanner } = await openRecipientsScan(s3, bucket, spec, template);
  try {
    const check = await writePreparedFile(s3, bucket, preparedKey, scanner, (done) =>
      assertSendable(done, spec.onInvalidRows),
    );
    return { check, prepared: { key: preparedKey, source, writtenBy: 'creation' } };
  } finally {
    body.destroy();
  }
}

export async function createCampaign(
  request: unknown,
  deps: CampaignServiceDeps,
  options: { idempotencyKey?: string | undefined } = {},
): Promise<CampaignRecord> {
  return (await createOrReplayCampaign(request, deps, options)).campaign;
}

/**
 * Creates and starts a campaign; with an Idempotency-Key, at most one campaign per key: the campaign id
 * is derived from the key and the create is a conditional write carrying the request's hash, so of many
 * concurrent requests one creates it and every other reads it back (replay if the same request, 409 if not).
 */
export async function createOrReplayCampaign(
  request: unknown,
  deps: CampaignServiceDeps,
  options: {
    idempotencyKey?: string | undefined;
    /** A check to run only when a campaign is about to be created (not for a replay). */
    beforeCreate?: (() => Promise<void>) | undefined;
  } = {},
): Promise<CreateOutcome> {
  const spec = parseWith(CampaignRequestSchema, request, 'campaign');
  const requestHash = requestHashOf(spec);
  const id = options.idempotencyKey ? campaignIdForKey(options.idempotencyKey) : newCampaignId();
  if (options.idempotencyKey) {
    const existing = await deps.campaigns.find(id);
    if (existing) return replayOrConflict(existing, requestHash);
  }
  await options.beforeCreate?.();
  assertAllowedSender(spec.from, deps.senderIdentities ?? []);
  const template = await deps.templates.get(spec.templateId, spec.templateVersion);
  // Partials are pinned here, at the version the user previewed: later saves of a partial do not
  // change what this campaign sends (compiled.partials is recorded and every batch loads exactly it).
  const compiled = compileTemplate(
    template,
    await deps.templates.partials(template, { selfId: template.id }),
  );
  // A template saved before this check existed may still read a property of a text variable.
  assertTextVariables(compiled);
  // The one check that reads the whole file; it writes the prepared file as it goes (one key per attempt,
  // keys.preparedAtCreation), which is deleted again if a later check refuses the campaign.
  const preparedKey = keys.preparedAtCreation(id, randomBytes(6).toString('hex'));
  const { check, prepared } = await checkAndPrepareRecipients(
    deps.s3,
    deps.bucket,
    spec,
    preparedKey,
    compiled,
  );
  const attempt = { id, requestHash, template, compiled, check, prepared, settled: false };
  try {
    return await createChecked(spec, deps, options, attempt);
  } catch (error) {
    // Refused by a later check: no campaign owns this attempt's prepared file.
    if (!attempt.settled) await discardPreparedFile(deps.s3, deps.bucket, preparedKey);
    throw error;
  }
}

/** The rest of createOrReplayCampaign, once the recipients file has passed and is prepared. */
async function createChecked(
  spec: CampaignSpec,
  deps: CampaignServiceDeps,
  options: { idempotencyKey?: string | undefined },
  checked: {
    id: string;
    requestHash: string;
    template: Awaited<ReturnType<CampaignServiceDeps['templates']['get']>>;
    compiled: CompiledTemplate;
    check: RecipientsCheck;
    prepared: PreparedFileRef;
    /** Set once the prepared file is either named by the stored record or already deleted. */
    settled: boolean;
  },
): Promise<CreateOutcome> {
  const { id, requestHash, template, compiled, check, prepared } = checked;
  const { columns } = check;
  assertUnsubscribeLink(compiled, { transactional: spec.transactional, templateId: spec.templateId });
  // Every variant is checked as the base template is: a variant that cannot be sent fails here, not midway.
  const variants = spec.abTest ? await resolveVariants(spec.abTest, template, deps.templates) : undefined;
  for (const [index, content] of (variants?.contents ?? []).entries()) {
    const ref = variants?.refs[index];
    const variant = compileTemplate(
      content,
      await deps.templates.partials(content, { selfId: ref?.templateId }),
    );
    assertVariablesProvided(variant, columns, Object.keys(spec.data ?? {}));
    assertUnsubscribeLink(variant, {
      transactional: spec.transactional,
      templateId: `${ref?.templateId} (variant ${ref?.name})`,
    });
  }
  if (spec.abTest) {
    // Without SES's tracking for the metric no event would ever arrive, and the test would always tie.
    const tracking = campaignTracking(spec);
    const on = spec.abTest.metric === 'opens' ? tracking.opens : tracking.clicks;
    if (!on) {
      throw new ValidationError(
        `abTest.metric is ${spec.abTest.metric}, but ${spec.abTest.metric === 'opens' ? 'open' : 'click'} tracking is off for this campaign ` +
          `(${spec.transactional ? 'transactional campaigns have it off unless asked' : 'tracking turned it off'}): set tracking.${spec.abTest.metric} to true.`,
        { details: [{ path: 'abTest.metric', problem: 'not tracked' }] },
      );
    }
  }
  if (spec.abTest?.decideAt) {
    const at = Date.parse(spec.abTest.decideAt);
    const earliest = Math.max(deps.clock().getTime(), spec.sendAt ? Date.parse(spec.sendAt) : 0);
    if (at <= earliest || at > earliest + MAX_DECISION_SECONDS * 1000) {
      throw new ValidationError(
        'abTest.decideAt must be after the send starts and at most 30 days after it; or use decideAfter.',
        {
          details: [
            { path: 'abTest.decideAt', problem: at <= earliest ? 'not after the start' : 'too far ahead' },
          ],
        },
      );
    }
  }

  const now = deps.clock();
  let sendAt: string | undefined;
  if (spec.sendAt) {
    const at = Date.parse(spec.sendAt);
    if (at < now.getTime() - PAST_TOLERANCE_MS) {
      const zone = spec.timeZone;
      const shown = zone ? `${formatInZone(spec.sendAt, zone)} (${zone})` : spec.sendAt;
      throw new ValidationError(`The send time (sendAt) ${shown} is in the past. Leave it out to send now.`, {
        details: [{ path: 'sendAt', problem: 'in the past' }],
      });
    }
    // The execution starts now and Step Functions ends it after a year (States.Timeout): the wait, and an
    // A/B test's wait for its decision after the sample, must fit in it.
    const decisionMs = spec.abTest ? MAX_DECISION_SECONDS * 1000 : 0;
    if (at + decisionMs > now.getTime() + AWS_LIMITS.standardExecutionMs) {
      throw new ValidationError(
        spec.abTest
          ? 'sendAt is too far ahead for an A/B test: the send time plus 30 days for the decision must be within a year; Step Functions runs a campaign one year at most.'
          : 'sendAt is more than a year ahead; Step Functions runs a campaign one year at most.',
        { details: [{ path: 'sendAt', problem: 'more than a year ahead' }] },
      );
    }
    // Stored in UTC with an uppercase T and Z, as the Wait state's TimestampPath requires.
    sendAt = new Date(at).toISOString();
  }
  const record: CampaignRecord = {
    id,
    kind: 'campaign',
    name: spec.name ?? `${spec.templateId} ${now.toISOString().slice(0, 16).replace('T', ' ')}`,
    status: 'pending',
    spec,
    templateVersion: template.version,
    ...(compiled.partials ? { partials: compiled.partials } : {}),
    rate: spec.rate ?? (await deps.defaultRate()),
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    ...(sendAt ? { sendAt } : {}),
    executions: 1,
    ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey, requestHash } : {}),
    progress: emptyCounts(),
    check,
    prepared,
    ...(spec.abTest && variants ? { abTest: newAbTestRecord(spec.abTest, variants.refs) } : {}),
  };
  try {
    await deps.campaigns.create(record);
    checked.settled = true;
  } catch (error) {
    // Not stored (or, after a timeout, perhaps stored: then Prepare finds no prepared file and reads the
    // upload itself). Another request with this key that created the campaign has its own file.
    await discardPreparedFile(deps.s3, deps.bucket, prepared.key);
    checked.settled = true;
    // Requests with this key raced and another one created it: same request or not, it decides.
    if ((error as Error).name === 'ConditionalCheckFailedException' && options.idempotencyKey) {
      return replayOrConflict(await deps.campaigns.get(id), requestHash);
    }
    throw error;
  }
  const { executionArn } = await deps.orchestrator.start(executionName(id, 1), { campaignId: id });
  await deps.campaigns.patch(id, { executionArn });
  deps.logger?.info('campaign created', {
    campaignId: id,
    run: 1,
    templateId: spec.templateId,
    templateVersion: template.version,
    rate: record.rate,
    ...(sendAt ? { sendAt } : {}),
    ...(spec.abTest ? { abTest: true } : {}),
  });
  return { campaign: { ...record, executionArn }, replayed: false };
}

/** Cancels the campaign and stops its execution; the report is written separately (a job, or cancelCampaign). */
export async function stopCampaign(
  id: string,
  deps: CampaignServiceDeps,
  reason = 'cancelled by the user',
): Promise<CampaignRecord> {
  const campaign = await deps.campaigns.get(id);
  const updated = await deps.campaigns.transition(
    id,
    'cancelled',
    { statusReason: reason, finishedAt: deps.clock().toISOString() },
    ['pending', 'scheduled', 'sending'],
  );
  if (campaign.executionArn) await deps.orchestrator.stop(campaign.executionArn, reason);
  deps.logger?.info('campaign cancelled', {
    campaignId: id,
    run: campaign.executions ?? 1,
    from: campaign.status,
    reason,
  });
  return updated;
}

/** Cancels the campaign and, as its execution will not reach its finaliser, writes the report here. */
export async function cancelCampaign(
  id: string,
  deps: CampaignServiceDeps,
  reason = 'cancelled by the user',
): Promise<CampaignRecord> {
  const updated = await stopCampaign(id, deps, reason);
  return deps.ledger ? reportAfterStop(id, deps) : updated;
}
