/**
 * The campaign gate: whether this run of a campaign may go on sending. Checked before a batch starts and,
 * while it sends, in the background every `intervalMs`; the senders look at its last answer.
 */
import type { CampaignGateView } from '../campaigns/store.ts';

/**
 * The standard gate: stop when the campaign was cancelled or failed, or when a newer run of it started.
 * An unreadable or missing record does not stop sending (a gate that fails closed would turn a DynamoDB
 * hiccup into a failed batch); the state machine's own stop still applies.
 */
export async function campaignGate(
  campaigns: { find(id: string): Promise<CampaignGateView | undefined> },
  campaignId: string,
  run: number,
): Promise<string | undefined> {
  let campaign: CampaignGateView | undefined;
  try {
    campaign = await campaigns.find(campaignId);
  } catch {
    return undefined;
  }
  if (!campaign) return undefined;
  if (campaign.status === 'cancelled' || campaign.status === 'failed')
    return `the campaign is ${campaign.status}${campaign.statusReason ? ` (${campaign.statusReason})` : ''}`;
  if ((campaign.executions ?? 1) > run)
    return `run ${campaign.executions} of the campaign has replaced run ${run}`;
  return undefined;
}

export type CampaignGate = (campaignId: string, run: number) => Promise<string | undefined>;

/** One batch's view of the gate: at most one check in flight, at most one per interval. */
export class GateWatch {
  private lastCheck: number;
  private checking = false;

  constructor(
    private readonly gate: CampaignGate | undefined,
    private readonly campaignId: string,
    private readonly run: number,
    private readonly intervalMs: number,
    private readonly now: () => number,
    /** Called with the reason when the gate says stop. */
    private readonly onStop: (reason: string) => void,
  ) {
    // The batch checked the gate just before it started.
    this.lastCheck = now();
  }

  /** Starts a background check if the last one is older than the interval; never waits. */
  poll(): void {
    if (!this.gate || this.checking || this.now() - this.lastCheck < this.intervalMs) return;
    this.checking = true;
    this.gate(this.campaignId, this.run)
      .then((reason) => {
        if (reason) this.onStop(reason);
      })
      .catch(() => undefined)
      .finally(() => {
        this.checking = false;
        this.lastCheck = this.now();
      });
  }
}
