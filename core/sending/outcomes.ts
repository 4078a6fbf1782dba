/**
 * A batch's outcomes must fit the state payload limit (256 KiB): the child's output is a state's output.
 * Rows, emails and message ids are bounded by the batch's input; the one unbounded part is the failure
 * reasons (SES's and liquid's messages), so those are shortened, all to the same length, until the result
 * fits. Nothing else changes: every row keeps its outcome and state.
 */
import { AWS_LIMITS, payloadBytes } from '../aws/limits.ts';
import type { SendBatchResult } from '../schemas.ts';

/** Room kept under the limit for what Step Functions wraps around a child's output. */
const MARGIN_BYTES = 1024;
const ELLIPSIS = '…';

const shorten = (reason: string, length: number) =>
  reason.length <= length ? reason : `${reason.slice(0, length)}${ELLIPSIS}`;

export function fitOutcomes(
  result: SendBatchResult,
  limitBytes: number = AWS_LIMITS.statePayloadBytes - MARGIN_BYTES,
): SendBatchResult {
  if (payloadBytes(result) <= limitBytes) return result;
  const withReasonsOf = (length: number): SendBatchResult => ({
    ...result,
    outcomes: result.outcomes.map((o) =>
      o.reason === undefined || o.reason.length <= length ? o : { ...o, reason: shorten(o.reason, length) },
    ),
  });
  // The longest reason length that fits, by bisection over [0, longest reason].
  let low = 0;
  let high = Math.max(0, ...result.outcomes.map((o) => o.reason?.length ?? 0));
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (payloadBytes(withReasonsOf(mid)) <= limitBytes) low = mid;
    else high = mid - 1;
  }
  return withReasonsOf(low);
}
