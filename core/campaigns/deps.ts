/**
 * What the campaign service (service.ts) and the run operations (runs.ts) both take: kept apart from
 * both so neither imports the other's module for it. Built once in core/app.ts (campaignServiceDeps).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '../logging.ts';
import type { Ledger } from '../sending/ledger.ts';
import type { TemplateStore } from '../templates/store.ts';
import type { Orchestrator } from '../workflow/orchestrator.ts';
import type { CampaignStore } from './store.ts';

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
  /** Lines for runs started, resumed and restarted (core/logging.ts); silent when absent. */
  logger?: Logger;
}

/** Run 1 of a campaign is the execution named by its id; run n is `<id>-run<n>`. */
export function executionName(campaignId: string, run: number): string {
  return run <= 1 ? campaignId : `${campaignId}-run${run}`;
}
