/** Creating, starting and stopping campaigns: what the API and the CLI call. */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { assertAllowedSender, assertUnsubscribeLink } from '../compliance/policy.ts';
import { RecipientsFileError, ValidationError } from '../errors.ts';
import { assertSendable, checkRecipients } from '../recipients/scanner.ts';
import { CampaignRequestSchema, type CampaignSpec, parseWith } from '../schemas.ts';
import type { Ledger } from '../sending/ledger.ts';
import { assertVariablesProvided, type CompiledTemplate, compileTemplate } from '../templates/render.ts';
import type { TemplateStore } from '../templates/store.ts';
import type { Orchestrator } from '../workflow/orchestrator.ts';
import { reportAfterStop } from './runs.ts';
import { emptyCounts } from './status.ts';
import type { CampaignRecord, CampaignStore, RecipientsCheck } from './store.ts';

export interface CampaignServiceDeps {
  s3: S3Client;
  bucket: string;
  campaigns: CampaignStore;
  templates: TemplateStore;
  orchestrator: Orchestrator;
  clock: () => Date;
  defaultRate: () => Promise<number> | number;
  /** The send ledger: the report of a stopped campaign is built from it (core/campaigns/runs.ts). */
  ledger?: Ledger;
  /** Milliseconds a cancel waits for running batches to stop before writing the report (default 1500; 0 locally). */
  settleMs?: number;
  /** Allowed From addresses or domains (config.senderIdentities); absent or empty allows any. */
  senderIdentities?: readonly string[];
}

const MAX_SCHEDULE_MS = 365 * 24 * 3600 * 1000;
const PAST_TOLERANCE_MS = 5 * 60 * 1000;

export function newCampaignId(): string {
  return `c${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}

/** A client retrying with the same idempotency key gets the same campaign id, hence the same campaign. */
export function campaignIdForKey(idempotencyKey: string): string {
  return `k${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24)}`;
}

export function executionName(campaignId: string, run: number): string {
  return run <= 1 ? campaignId : `${campaignId}-run${run}`;
}

/**
 * Runs every check Prepare will run on an uploaded CSV (the whole file, streamed, the template's variables
 * against its header, and what the campaign's options make of its invalid and short rows), so a campaign
 * is refused when it is created rather than failed after it started. Sends and writes nothing.
 */
async function checkRecipientsFile(
  s3: S3Client,
  bucket: string,
  spec: CampaignSpec,
  template: CompiledTemplate,
): Promise<RecipientsCheck> {
  let body: Readable;
  try {
    body = (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: spec.recipientsKey })))
      .Body as Readable;
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') {
      throw new RecipientsFileError(
        `No uploaded recipients file "${spec.recipientsKey}". Upload the CSV first.`,
        {
          details: { key: spec.recipientsKey },
        },
      );
    }
    throw error;
  }
  try {
    const check = await checkRecipients(body, {
      emailColumn: spec.emailColumn,
      shortRows: spec.shortRows,
      onHeader: (columns) => assertVariablesProvided(template, columns, Object.keys(spec.data ?? {})),
    });
    assertSendable(check, spec.onInvalidRows);
    return check;
  } finally {
    body.destroy();
  }
}

export async function createCampaign(
  request: unknown,
  deps: CampaignServiceDeps,
  options: { idempotencyKey?: string | undefined } = {},
): Promise<CampaignRecord> {
  const spec = parseWith(CampaignRequestSchema, request, 'campaign');
  const id = options.idempotencyKey ? campaignIdForKey(options.idempotencyKey) : newCampaignId();
  if (options.idempotencyKey) {
    const existing = await deps.campaigns.find(id);
    if (existing) return existing;
  }
  assertAllowedSender(spec.from, deps.senderIdentities ?? []);
  const template = await deps.templates.get(spec.templateId, spec.templateVersion);
  // Partials are pinned here, at the version the user previewed: later saves of a partial do not
  // change what this campaign sends (compiled.partials is recorded and every batch loads exactly it).
  const compiled = compileTemplate(
    template,
    await deps.templates.partials(template, { selfId: template.id }),
  );
  await checkRecipientsFile(deps.s3, deps.bucket, spec, compiled);
  assertUnsubscribeLink(compiled, { transactional: spec.transactional, templateId: spec.templateId });

  const now = deps.clock();
  let sendAt: string | undefined;
  if (spec.sendAt) {
    const at = Date.parse(spec.sendAt);
    if (at < now.getTime() - PAST_TOLERANCE_MS) {
      throw new ValidationError(`sendAt ${spec.sendAt} is in the past. Leave it out to send now.`, {
        details: [{ path: 'sendAt', problem: 'in the past' }],
      });
    }
    if (at > now.getTime() + MAX_SCHEDULE_MS) {
      throw new ValidationError('sendAt is more than a year ahead; Step Functions waits one year at most.', {
        details: [{ path: 'sendAt', problem: 'more than a year ahead' }],
      });
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
    ...(options.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}),
    progress: emptyCounts(),
  };
  try {
    await deps.campaigns.create(record);
  } catch (error) {
    // Two retries of the same request raced: the other one created it.
    if ((error as Error).name === 'ConditionalCheckFailedException' && options.idempotencyKey) {
      return deps.campaigns.get(id);
    }
    throw error;
  }
  const { executionArn } = await deps.orchestrator.start(executionName(id, 1), { campaignId: id });
  await deps.campaigns.patch(id, { executionArn });
  return { ...record, executionArn };
}

export async function cancelCampaign(
  id: string,
  deps: CampaignServiceDeps,
  reason = 'cancelled by the user',
) {
  const campaign = await deps.campaigns.get(id);
  const updated = await deps.campaigns.transition(
    id,
    'cancelled',
    { statusReason: reason, finishedAt: deps.clock().toISOString() },
    ['pending', 'scheduled', 'sending'],
  );
  if (campaign.executionArn) await deps.orchestrator.stop(campaign.executionArn, reason);
  // The execution will not reach its finaliser: write the per-recipient report here.
  return deps.ledger ? reportAfterStop(id, deps) : updated;
}

export {
  reportCampaign,
  resendFailedCampaign,
  restartInterruptedCampaigns,
  resumeCampaign,
} from './runs.ts';
