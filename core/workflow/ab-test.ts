/**
 * The A/B test in the workflow: the variants resolved when the campaign is created, the sample and
 * remainder files Prepare writes, and the PickWinner step the state machine loops on (Wait, PickWinner,
 * Choice) until the decision time or a manual pick, and which then decides by the rule in
 * core/abtest/stats.ts.
 */
import { PassThrough, type Readable } from 'node:stream';
import { Upload } from '@aws-sdk/lib-storage';
import { z } from 'zod';
import { sampleVariant, VARIANT_NAMES } from '../abtest/assign.ts';
import type { VariantEngagement, VariantEngagementSource } from '../abtest/engagement.ts';
import { decideWinner, type TestResult } from '../abtest/stats.ts';
import type { AbTestDecision, AbTestRecord, CampaignRecord, CampaignStore } from '../campaigns/store.ts';
import { keys } from '../config.ts';
import { AbTestUndecidedError, CampaignStoppedError, ConflictError, ValidationError } from '../errors.ts';
import { type LogAttributes, loggedStep } from '../logging.ts';
import { readCsvRecords } from '../recipients/csv.ts';
import { addressKey } from '../recipients/email-address.ts';
import { preparedKeyOf } from '../recipients/prepared-file.ts';
import { decodeText } from '../recipients/scanner.ts';
import {
  type AbTestSpec,
  durationSeconds,
  ManualPickSchema,
  MapResultSchema,
  type PreparedCampaign,
  parseWith,
  SendBatchResultSchema,
  type TemplateRecord,
  type VariantRef,
} from '../schemas.ts';
import type { TemplateContent } from '../templates/render.ts';
import type { TemplateStore } from '../templates/store.ts';
import { objectBody, objectExists, type WorkflowDeps } from './deps.ts';
import { childOutput, resultEntries, runOfExecution } from './finalise.ts';

/** Pins every variant: its template (the campaign's unless named) at a version, and its subject. */
export async function resolveVariants(
  test: AbTestSpec,
  base: TemplateRecord,
  templates: Pick<TemplateStore, 'get'>,
): Promise<{ refs: VariantRef[]; contents: TemplateContent[] }> {
  const refs: VariantRef[] = [];
  const contents: TemplateContent[] = [];
  for (const [index, variant] of test.variants.entries()) {
    const template =
      variant.templateId === undefined
        ? base
        : await templates.get(variant.templateId, variant.templateVersion);
    const name = VARIANT_NAMES[index] as string;
    refs.push({
      name,
      templateId: template.id,
      templateVersion: template.version,
      ...(variant.subject !== undefined ? { subject: variant.subject } : {}),
    });
    contents.push(variantContent(template, variant.subject));
  }
  return { refs, contents };
}

/** A variant's template as the sender renders it: the subject, when the variant has one, replaced. */
export function variantContent(template: TemplateContent, subject: string | undefined): TemplateContent {
  return subject === undefined ? template : { ...template, subject };
}

export function newAbTestRecord(test: AbTestSpec, refs: VariantRef[]): AbTestRecord {
  return { variants: refs, metric: test.metric, phase: 'sample' };
}

const SPLIT_HEADER = 'row,state,email,note,vars,i,variant\n';
const CHUNK_BYTES = 64 * 1024;

/**
 * Splits the prepared file's sendable rows into the sample (each row with its variant) and the remainder,
 * both with each row's index in the prepared file, so outcomes and the report stay keyed by it. Streams:
 * one read of the prepared file, two uploads. Skipped when both files exist (a resumed or restarted run):
 * the assignment is a pure function of the campaign and the address, so they would be the same again.
 */
export async function writeTestFiles(
  campaign: CampaignRecord,
  deps: WorkflowDeps,
): Promise<Pick<AbTestRecord, 'assigned' | 'remainder'> | undefined> {
  const test = campaign.spec.abTest;
  if (!test) return undefined;
  const sampleKey = keys.sample(campaign.id);
  const remainderKey = keys.remainder(campaign.id);
  if (
    campaign.abTest?.assigned &&
    (await objectExists(deps.s3, deps.bucket, sampleKey)) &&
    (await objectExists(deps.s3, deps.bucket, remainderKey))
  ) {
    return undefined;
  }
  const assigned: Record<string, number> = Object.fromEntries(
    VARIANT_NAMES.slice(0, test.variants.length).map((name) => [name, 0]),
  );
  let remainder = 0;
  const outputs = [sampleKey, remainderKey].map((key) => {
    const body = new PassThrough();
    const upload = new Upload({
      client: deps.s3,
      params: { Bucket: deps.bucket, Key: key, Body: body, ContentType: 'text/csv; charset=utf-8' },
    }).done();
    return { body, upload, buffer: SPLIT_HEADER };
  });
  const [sample, rest] = outputs as [(typeof outputs)[0], (typeof outputs)[0]];
  const flush = async (out: (typeof outputs)[0], force = false) => {
    if (out.buffer.length < CHUNK_BYTES && !force) return;
    const text = out.buffer;
    out.buffer = '';
    if (!out.body.write(text)) await new Promise((resolve) => out.body.once('drain', resolve));
  };
  try {
    const prepared = await objectBody(
      deps.s3,
      deps.bucket,
      preparedKeyOf(campaign),
      'prepared recipients file',
    );
    let index = -2;
    for await (const record of readCsvRecords(prepared, { dialect: 'aws' })) {
      index++;
      if (index === -1) continue;
      const [row, state, email, note, vars] = record.fields as [string, string, string, string, string];
      if (state !== 'ok') continue;
      const variant = sampleVariant(
        campaign.id,
        addressKey(decodeText(email)),
        test.sample,
        test.variants.length,
      );
      const out = variant ? sample : rest;
      out.buffer += `${row},${state},${email},${note},${vars},${index},${variant ?? ''}\n`;
      if (variant) assigned[variant] = (assigned[variant] ?? 0) + 1;
      else remainder++;
      await flush(out);
    }
    for (const out of outputs) {
      await flush(out, true);
      out.body.end();
    }
    await Promise.all(outputs.map((out) => out.upload));
  } catch (error) {
    for (const out of outputs) out.body.destroy(error as Error);
    await Promise.all(outputs.map((out) => out.upload.catch(() => undefined)));
    throw error;
  }
  return { assigned, remainder };
}

/** The part of the Prepare output the A/B states read. */
export function preparedAbTest(campaignId: string, bucket: string): PreparedCampaign['abTest'] {
  return {
    sample: { bucket, key: keys.sample(campaignId) },
    remainder: { bucket, key: keys.remainder(campaignId) },
    sampleResultPrefix: `${keys.results(campaignId)}/sample`,
    remainderResultPrefix: `${keys.results(campaignId)}/remainder`,
  };
}

/**
 * Checks between the sample and the decision: at most this many whatever the wait, and a minute apart at
 * least (the interval is the wait / MAX_CHECKS: 60 s for a wait up to 8 hours, 29 min for 10 days, 86 min
 * for the longest, 30 days). One check (Task, Choice, Wait) adds 9 events to the execution history, so the
 * wait costs at most ~4,500 of the 25,000 events a Standard execution may have. It is also how soon a
 * manual pick ends the wait: within one interval.
 */
export const MAX_CHECKS = 500;
export const checkIntervalSeconds = (waitSeconds: number) =>
  Math.max(60, Math.ceil(waitSeconds / MAX_CHECKS));
/** A test held for a manual pick is checked every 15 minutes for at most 7 days (672 checks), then fails. */
export const HOLD_INTERVAL_SECONDS = 900;
export const MAX_HOLD_SECONDS = 7 * 24 * 3600;

export const PickWinnerEventSchema = z.object({
  campaignId: z.string(),
  execution: z.string(),
  sampleResult: MapResultSchema,
});

export interface PickWinnerResult {
  /** `send`: the remainder goes to `variant`; `wait`: check again at `nextCheck`. */
  state: 'send' | 'wait';
  variant: string;
  /** UTC, whole seconds, as a Wait state's TimestampPath takes it. */
  nextCheck: string;
}

/** A time as the Wait state's TimestampPath wants it: UTC, whole seconds (rounded up). */
const waitTimestamp = (ms: number) =>
  new Date(Math.ceil(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

export interface PickWinnerDeps extends WorkflowDeps {
  variantEngagement: VariantEngagementSource['variantEngagement'];
}

/** Sample recipients SES accepted, per variant, from the sample Map's result files. */
async function sampleSent(
  campaign: CampaignRecord,
  test: AbTestSpec,
  mapResult: z.infer<typeof MapResultSchema>,
  deps: WorkflowDeps,
): Promise<Record<string, number>> {
  const sent: Record<string, number> = Object.fromEntries(
    VARIANT_NAMES.slice(0, test.variants.length).map((name) => [name, 0]),
  );
  const { Bucket, Key } = mapResult.ResultWriterDetails;
  const manifest = JSON.parse(await text(await objectBody(deps.s3, Bucket, Key, 'Map result manifest'))) as {
    ResultFiles?: Record<string, { Key: string }[]>;
  };
  for (const file of manifest.ResultFiles?.SUCCEEDED ?? []) {
    for await (const entry of resultEntries(await objectBody(deps.s3, Bucket, file.Key, 'Map result file'))) {
      const result = parseWith(SendBatchResultSchema, childOutput(entry), 'batch result');
      for (const outcome of result.outcomes) {
        if (outcome.state !== 'sent') continue;
        const variant = sampleVariant(
          campaign.id,
          addressKey(outcome.email),
          test.sample,
          test.variants.length,
        );
        if (variant) sent[variant] = (sent[variant] ?? 0) + 1;
      }
    }
  }
  return sent;
}

async function text(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The PickWinner step. Its first call in a run records what the sample sent and when the decision is due
 * (kept from an earlier run: a resumed campaign does not restart its wait). Then, on every call: a
 * decision already recorded (a manual pick, or an earlier run's) sends the remainder with it; before the
 * due time, wait; at it, the test decides, or the fallback does, or the campaign holds for a manual pick.
 */
export function pickWinner(input: unknown, deps: PickWinnerDeps): Promise<PickWinnerResult> {
  return loggedStep(deps.logger, 'PickWinner', async (fields) => {
    const result = await pick(input, deps, fields);
    Object.assign(fields, {
      state: result.state,
      ...(result.variant ? { variant: result.variant } : {}),
      nextCheck: result.nextCheck,
    });
    return result;
  });
}

async function pick(input: unknown, deps: PickWinnerDeps, fields: LogAttributes): Promise<PickWinnerResult> {
  const event = parseWith(PickWinnerEventSchema, input, 'PickWinner input');
  fields.campaignId = event.campaignId;
  let campaign = await deps.campaigns.get(event.campaignId);
  const run = runOfExecution(event.execution);
  fields.run = run;
  if (run !== (campaign.executions ?? 1)) {
    throw new CampaignStoppedError(`Not deciding: run ${run} was replaced by run ${campaign.executions}.`);
  }
  if (campaign.status !== 'sending') {
    throw new CampaignStoppedError(`Not deciding: the campaign is ${campaign.status}.`);
  }
  const spec = campaign.spec.abTest;
  const record = campaign.abTest;
  if (!spec || !record) throw new ValidationError(`Campaign ${campaign.id} has no A/B test.`);
  const now = deps.clock().getTime();
  const wait = (at: number): PickWinnerResult => ({
    state: 'wait',
    variant: '',
    nextCheck: waitTimestamp(at),
  });
  const send = (decision: AbTestDecision): PickWinnerResult => ({
    state: 'send',
    variant: decision.variant,
    nextCheck: waitTimestamp(now),
  });

  if (record.sentRun !== run) {
    const sent = await sampleSent(campaign, spec, event.sampleResult, deps);
    const sampleSentAt = record.sampleSentAt ?? new Date(now).toISOString();
    const decisionDue =
      record.decisionDue ??
      new Date(
        spec.decideAt
          ? Date.parse(spec.decideAt)
          : Date.parse(sampleSentAt) + (durationSeconds(spec.decideAfter ?? '0s') ?? 0) * 1000,
      ).toISOString();
    const phase = record.decision ? 'decided' : record.phase === 'held' ? 'held' : 'waiting';
    await deps.campaigns.patchAbTest(campaign.id, { sent, sentRun: run, sampleSentAt, decisionDue, phase });
    campaign = { ...campaign, abTest: { ...record, sent, sentRun: run, sampleSentAt, decisionDue, phase } };
  }
  const test = campaign.abTest as AbTestRecord;
  if (test.decision) return send(test.decision);
  const due = Date.parse(test.decisionDue as string);
  if (now < due) {
    const interval = checkIntervalSeconds((due - Date.parse(test.sampleSentAt as string)) / 1000);
    return wait(Math.min(due, now + interval * 1000));
  }
  if (test.phase === 'held') {
    if (now - Date.parse(test.heldSince ?? test.decisionDue ?? '') > MAX_HOLD_SECONDS * 1000) {
      throw new AbTestUndecidedError(
        `No variant was picked within ${MAX_HOLD_SECONDS / 86400} days of the decision time; ` +
          'pick one (sixback pick) and resume the campaign to send the rest.',
      );
    }
    return wait(now + HOLD_INTERVAL_SECONDS * 1000);
  }

  const names = test.variants.map((v) => v.name);
  const engagement = await deps.variantEngagement(campaign.id, names);
  fields.sample = engagement.map((e) => ({
    variant: e.variant,
    sent: e.sent,
    successes: spec.metric === 'opens' ? e.uniqueOpens : e.uniqueClicks,
  }));
  const result = decideWinner(
    engagement.map((e) => ({
      variant: e.variant,
      sent: e.sent,
      successes: spec.metric === 'opens' ? e.uniqueOpens : e.uniqueClicks,
    })),
    spec.confidence,
  );
  const at = new Date(now).toISOString();
  fields.decision = result.reason;
  let decision: AbTestDecision;
  if (result.winner) decision = { variant: result.winner, by: 'test', at, reason: result.reason };
  else if (spec.fallback === 'A') {
    decision = {
      variant: 'A',
      by: 'fallback',
      at,
      reason: `no winner (${result.reason}); the campaign's fallback sends variant A`,
    };
  } else {
    await deps.campaigns.patchAbTest(campaign.id, { phase: 'held', result, heldSince: at });
    return wait(now + HOLD_INTERVAL_SECONDS * 1000);
  }
  return send(await deps.campaigns.decideAbTest(campaign.id, decision, result));
}

/**
 * A manual pick: records the variant the remainder gets, which ends the wait at the next check. Refused
 * when the test was decided already, or the campaign ended.
 */
export async function pickVariant(
  id: string,
  input: unknown,
  deps: { campaigns: CampaignStore; clock: () => Date },
): Promise<CampaignRecord> {
  const { variant } = parseWith(ManualPickSchema, input, 'pick');
  const campaign = await deps.campaigns.get(id);
  const test = campaign.abTest;
  if (!test) throw new ValidationError(`Campaign ${id} has no A/B test to pick a variant of.`);
  if (!test.variants.some((v) => v.name === variant)) {
    throw new ValidationError(
      `Campaign ${id} has variants ${test.variants.map((v) => v.name).join(', ')}; there is no ${variant}.`,
      { details: [{ path: 'variant', problem: 'no such variant' }] },
    );
  }
  if (campaign.status === 'completed' || campaign.status === 'completed_with_failures') {
    throw new ConflictError(`Campaign ${id} is ${campaign.status}: it is too late to pick a variant.`);
  }
  if (test.decision) {
    throw new ConflictError(
      `Campaign ${id}'s test was decided already: variant ${test.decision.variant} (${test.decision.by}).`,
      { details: { decision: test.decision } },
    );
  }
  const decision: AbTestDecision = {
    variant,
    by: 'manual',
    at: deps.clock().toISOString(),
    reason: `picked by hand${test.result?.reason ? ` after the test found ${test.result.winner ? `winner ${test.result.winner}` : 'no winner'}: ${test.result.reason}` : ''}`,
  };
  const stood = await deps.campaigns.decideAbTest(id, decision);
  if (stood.by !== 'manual' || stood.at !== decision.at) {
    throw new ConflictError(
      `Campaign ${id}'s test was decided meanwhile: variant ${stood.variant} (${stood.by}).`,
      {
        details: { decision: stood },
      },
    );
  }
  return deps.campaigns.get(id);
}

/**
 * Where the test stands now, for people watching it: each variant's counts so far and what the rule
 * would say on them. Not the decision: the decision is taken once, at its time, because looking early and
 * stopping on a good number makes false winners far more likely than the stated confidence says.
 */
export async function abTestStanding(
  campaign: CampaignRecord,
  source: VariantEngagementSource,
): Promise<{ variants: (VariantEngagement & { rate: number })[]; interim: TestResult } | null> {
  const spec = campaign.spec.abTest;
  const test = campaign.abTest;
  if (!spec || !test) return null;
  const engagement = await source.variantEngagement(
    campaign.id,
    test.variants.map((v) => v.name),
  );
  const success = (e: VariantEngagement) => (spec.metric === 'opens' ? e.uniqueOpens : e.uniqueClicks);
  return {
    variants: engagement.map((e) => ({ ...e, rate: e.sent > 0 ? success(e) / e.sent : 0 })),
    interim: decideWinner(
      engagement.map((e) => ({ variant: e.variant, sent: e.sent, successes: success(e) })),
      spec.confidence,
    ),
  };
}
