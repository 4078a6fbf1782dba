/** The BeginSending step: after any Wait, the campaign is marked sending and handed to the Distributed Map. */

import { type PreparedCampaign, PreparedCampaignSchema, parseWith } from '../schemas.ts';
import type { WorkflowDeps } from './deps.ts';

export async function beginSending(input: unknown, deps: WorkflowDeps): Promise<PreparedCampaign> {
  const prepared = parseWith(PreparedCampaignSchema, input, 'prepared campaign');
  const campaign = await deps.campaigns.get(prepared.campaignId);
  if (campaign.status !== 'sending') {
    const now = deps.clock();
    const late = prepared.sendAt ? Math.floor((now.getTime() - Date.parse(prepared.sendAt)) / 1000) : 0;
    await deps.campaigns.transition(prepared.campaignId, 'sending', {
      startedAt: now.toISOString(),
      // A Wait fires within a second or two; ten seconds late means the engine was down or held up.
      ...(late >= 10 ? { startedLateBySeconds: late } : {}),
    });
  }
  return prepared;
}
