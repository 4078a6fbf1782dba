/**
 * Turns a campaign's send rate into the Distributed Map's shape. The rate is the only knob a user sets;
 * concurrency and batch size follow from it, so the aggregate rate can never exceed it:
 *   workers = ceil(rate / MAX_WORKER_RATE), each sending at rate / workers,
 *   batch   = what one worker sends in TARGET_BATCH_SECONDS, within [1, MAX_BATCH_SIZE], and no more than
 *             an equal share of the rows, so a small campaign still keeps every worker busy (otherwise
 *             one batch would hold all the rows and the campaign would go at one worker's rate).
 */
import type { SendPlan } from '../schemas.ts';

/** What one sender (one Lambda vCPU) sustains comfortably with the stock SDK. */
export const MAX_WORKER_RATE = 250;
export const MAX_BATCH_SIZE = 500;
export const TARGET_BATCH_SECONDS = 20;
/** Below the 256 KiB state payload limit, leaving room for the BatchInput and the envelope. */
export const MAX_INPUT_BYTES_PER_BATCH = 200 * 1024;

export function planSending(
  rate: number,
  toleratedFailurePercentage: number,
  maxWorkerRate = MAX_WORKER_RATE,
  rows?: number,
): SendPlan {
  const maxConcurrency = Math.max(1, Math.ceil(rate / maxWorkerRate));
  const workerRate = rate / maxConcurrency;
  const share = rows === undefined ? MAX_BATCH_SIZE : Math.ceil(rows / maxConcurrency);
  const batchSize = Math.max(
    1,
    Math.min(MAX_BATCH_SIZE, share, Math.floor(workerRate * TARGET_BATCH_SECONDS)),
  );
  return {
    rate,
    maxConcurrency,
    batchSize,
    maxInputBytesPerBatch: MAX_INPUT_BYTES_PER_BATCH,
    toleratedFailurePercentage,
  };
}
