/** The BeginSending step: after any Wait, the campaign is marked sending and handed to the Distributed Map. */

import { type LogAttributes, loggedStep } from '../logging.ts';
import { type PreparedCampaign, PreparedCampaignSchema, parseWith } from '../schemas.ts';
import type { WorkflowDeps } from './deps.ts';

export function beginSending(input: unknown, deps: WorkflowDeps): Promise<PreparedCampaign> {
  return loggedStep(deps.logger, 'BeginSending', (fields) => begin(input, deps, fields));
}

async function begin(input: unknown, deps: WorkflowDeps, fields: LogAttributes): Promise<PreparedCampaign> {
  const prepared = parseWith(PreparedCampaignSchema, input, 'prepared campaign');
  fields.campaignId = prepared.campaignId;
  const campaign = await deps.campaigns.get(prepared.campaignId);
  Object.assign(fields, {
    run: campaign.executions ?? 1,
    rate: prepared.plan.rate,
    maxConcurrency: prepared.plan.maxConcurrency,
    batchSize: prepared.plan.batchSize,
    ...(campaign.check ? { rows: campaign.check.rows } : {}),
  });
  if (campaign.status !== 'sending') {
    const now = deps.clock();
    const late = prepared.sendAt ? Math.floor((now.getTime() - Date.parse(prepared.sendAt)) / 1000) : 0;
    await deps.campaigns.transition(prepared.campaignId, 'sending', {
      startedAt: now.toISOString(),
      // A Wait fires within a second or two; ten seconds late means the engine was down or held up.
      ...(late >= 10 ? { startedLateBySeconds: late } : {}),
    });
    if (late >= 10) fields.startedLateBySeconds = late;
  }
  return prepared;
}
