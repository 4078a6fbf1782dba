/**
 * Turns a campaign's send rate into the Distributed Map's shape. The rate is the only knob a user sets;
 * concurrency and batch size follow from it, so the aggregate rate can never exceed it:
 *   workers = ceil(rate / MAX_WORKER_RATE), each sending at rate / workers,
 *   batch   = what one worker sends in TARGET_BATCH_SECONDS, within [1, MAX_BATCH_SIZE], and no more than
 *             an equal share of the rows, so a small campaign still keeps every worker busy (otherwise
 *             one batch would hold all the rows and the campaign would go at one worker's rate), and with
 *             the rows known, evened out so the batches make whole rounds of the workers.
 * Batches are as long as their output allows: every batch switch (a child ending, its result, the next
 * child starting, its lease and ledger reads, its first send) leaves a Map slot idle for 100-250 ms, rate
 * the other children cannot use (each keeps to its share), so short batches cost a few percent of the rate.
 */
import { AWS_LIMITS } from '../aws/limits.ts';
import { ValidationError } from '../errors.ts';
import type { SendPlan } from '../schemas.ts';

/** What one sender (one Lambda vCPU) sustains comfortably with the stock SDK. */
export const MAX_WORKER_RATE = 250;
export const TARGET_BATCH_SECONDS = 20;
/** Below the 256 KiB state payload limit, leaving room for the BatchInput and the envelope. */
export const MAX_INPUT_BYTES_PER_BATCH = 200 * 1024;
/**
 * How many bytes more a row's outcome may take in the child's output than the row took in its input,
 * failure reasons aside (fitOutcomes shortens those): a sent row's outcome carries SES's 60-character
 * message id and `"state":"sent"` with short keys (`{"i":,"row":,"email":"","state":"sent","messageId":""}`,
 * 54 bytes + 60), its input row the longer keys of the prepared row and its note and vars
 * (`{"index":,"row":{"row":"","state":"ok","email":"","note":"","vars":""}}`, 71 bytes): 43 bytes, with room.
 */
export const OUTCOME_GROWTH_BYTES = 64;
/** Kept free under the limit in a batch's output: the result's envelope and fitOutcomes' own margin. */
export const OUTPUT_MARGIN_BYTES = 2048;
/**
 * The most rows in a batch: the child's output is its rows' outcomes, under the same 256 KiB as its input,
 * and they are at most the rows' input bytes (MAX_INPUT_BYTES_PER_BATCH) plus OUTCOME_GROWTH_BYTES each.
 * 864 rows: 3.5 s of a 250/s child.
 */
export const MAX_BATCH_SIZE = Math.floor(
  (AWS_LIMITS.statePayloadBytes - OUTPUT_MARGIN_BYTES - MAX_INPUT_BYTES_PER_BATCH) / OUTCOME_GROWTH_BYTES,
);
/** The child's input around BatchInput and Items: the envelope, the child's start time, rounding. */
export const CHILD_ENVELOPE_BYTES = 1024;
/** A batch must have at least this much room for its rows, or campaign data is crowding them out. */
export const MIN_ITEM_BYTES_PER_BATCH = 16 * 1024;

/**
 * The bytes of rows a batch may carry: its input is BatchInput (which holds all of the campaign's `data`)
 * plus the rows, and the whole must fit the 256 KiB state payload limit. Campaign data so large that too
 * little room is left is refused before anything is sent.
 */
export function itemBytesPerBatch(batchInputBytes: number): number {
  const room = AWS_LIMITS.statePayloadBytes - CHILD_ENVELOPE_BYTES - batchInputBytes;
  if (room < MIN_ITEM_BYTES_PER_BATCH) {
    throw new ValidationError(
      `The campaign's data and settings take ${batchInputBytes} bytes of every batch, leaving ${Math.max(0, room)} ` +
        `of the ${AWS_LIMITS.statePayloadBytes} bytes Step Functions allows a batch for its recipients; ` +
        `keep the campaign data under ${AWS_LIMITS.statePayloadBytes - CHILD_ENVELOPE_BYTES - MIN_ITEM_BYTES_PER_BATCH} bytes (put per-recipient values in the CSV).`,
      { details: [{ path: 'data', problem: 'too large for a batch' }] },
    );
  }
  return Math.min(MAX_INPUT_BYTES_PER_BATCH, room);
}

export function planSending(
  rate: number,
  toleratedFailurePercentage: number,
  maxWorkerRate = MAX_WORKER_RATE,
  rows?: number,
  /** Size of the batch's BatchInput (JSON bytes); 0 leaves the default room. */
  batchInputBytes = 0,
): SendPlan {
  const maxConcurrency = Math.max(1, Math.ceil(rate / maxWorkerRate));
  const workerRate = rate / maxConcurrency;
  const share = rows === undefined ? MAX_BATCH_SIZE : Math.ceil(rows / maxConcurrency);
  let batchSize = Math.max(1, Math.min(MAX_BATCH_SIZE, share, Math.floor(workerRate * TARGET_BATCH_SECONDS)));
  if (rows !== undefined && rows > 0) {
    // As many batches as a whole number of rounds of the Map's slots, rows spread evenly over them: the
    // last round ends together instead of one slot sending its last batch alone while the others idle.
    const rounds = Math.ceil(Math.ceil(rows / batchSize) / maxConcurrency);
    batchSize = Math.max(1, Math.ceil(rows / (rounds * maxConcurrency)));
  }
  return {
    rate,
    maxConcurrency,
    batchSize,
    maxInputBytesPerBatch: itemBytesPerBatch(batchInputBytes),
    toleratedFailurePercentage,
  };
}
