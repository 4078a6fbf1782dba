import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SendQuota } from '../campaigns/quota.ts';
import type { CampaignStore } from '../campaigns/store.ts';
import { StoredObjectMissingError } from '../errors.ts';
import type { Logger } from '../logging.ts';
import type { Ledger } from '../sending/ledger.ts';
import type { TemplateStore } from '../templates/store.ts';

export interface WorkflowDeps {
  s3: S3Client;
  bucket: string;
  campaigns: CampaignStore;
  templates: TemplateStore;
  ledger: Ledger;
  clock: () => Date;
  configurationSet?: string | undefined;
  /** Whether the set's tracking variants exist, so each campaign names the one for its tracking. */
  trackingConfigurationSets?: boolean | undefined;
  /** SES's sending quota (GetAccount); when absent or unknown, no quota is applied. */
  sendQuota?: () => Promise<SendQuota | undefined>;
  /** Emails per second one sender is given at most (plan.ts MAX_WORKER_RATE unless set). */
  maxWorkerRate?: number;
  /** Finalise reports the rows written to the report so far (a report job's progress). */
  onProgress?: (done: number, total: number) => void;
  /** One line per step (core/logging.ts); silent when absent. */
  logger?: Logger;
}

export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
      return false;
    throw error;
  }
}

/** What objectBody reads, named in the error when it is gone. */
export type StoredObjectKind = 'prepared recipients file' | 'Map result manifest' | 'Map result file';

/**
 * GetObject of a file sixback wrote itself earlier in the campaign. Its absence is not the sender's
 * input problem (that is RecipientsFileError, for the upload): the message names which file is gone.
 */
export async function objectBody(
  s3: S3Client,
  bucket: string,
  key: string,
  what: StoredObjectKind,
): Promise<Readable> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return out.Body as Readable;
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') {
      throw new StoredObjectMissingError(
        `The campaign's ${what} "${key}" is no longer in bucket "${bucket}": it was deleted before the ` +
          "campaign finished. Check that no lifecycle rule or script deletes sixback's objects while campaigns run.",
        { details: { bucket, key, what } },
      );
    }
    throw error;
  }
}
