/**
 * What AWS enforces and sixback must fit inside, in one place: the sender plans its time from these, the
 * deploy parameters are checked against them, and the local stack enforces them with AWS's error names.
 * Each value is AWS's documented quota (Step Functions, Lambda and API Gateway service quotas).
 */

export const AWS_LIMITS = {
  /** An EXPRESS execution (each Distributed Map child here) lives at most 5 minutes, retries included. */
  expressExecutionMs: 300_000,
  /** The input and output of every state, and of every child execution, in UTF-8 bytes. */
  statePayloadBytes: 256 * 1024,
  /** A synchronous Lambda invocation's response ("maximum allowed payload size (6291556 bytes)"). */
  lambdaResponseBytes: 6_291_556,
  /** The longest Lambda timeout. */
  lambdaTimeoutSeconds: 900,
  /** API Gateway waits this long for its Lambda integration, then answers 503 itself. */
  apiIntegrationTimeoutMs: 29_000,
  /** Events in one Standard execution's history; the one that reaches it is the ExecutionFailed event. */
  standardHistoryEvents: 25_000,
  /**
   * A Standard execution runs one year at most ("If an execution runs for more than the 1-year maximum, it
   * will fail with a States.Timeout error"); so a Wait state waits a year at most.
   */
  standardExecutionMs: 365 * 24 * 3600 * 1000,
  /** A DynamoDB item, attribute names and values together, in UTF-8 bytes ("400 KB"). */
  dynamoItemBytes: 400 * 1024,
} as const;

/** The error names AWS reports when one of these limits is reached (Retry/Catch match on them). */
export const AWS_LIMIT_ERRORS = {
  timeout: 'States.Timeout',
  dataLimit: 'States.DataLimitExceeded',
  runtime: 'States.Runtime',
  lambdaResponseTooLarge: 'Function.ResponseSizeTooLarge',
} as const;

/** The cause AWS gives when a Standard execution's history is full (the execution fails with States.Runtime). */
export const historyLimitCause = (events: number) =>
  `The execution reached the maximum number of history events (${events}).`;

/** The cause the local engine gives an execution that outlived its time (one year, or its TimeoutSeconds). */
export const executionTimeoutCause = (ms: number) =>
  `The execution ran longer than its ${ms / 1000} seconds (a Standard execution lasts one year at most).`;

/** Lambda's own words for a response over its synchronous limit. */
export const lambdaResponseTooLargeMessage = (limit: number) =>
  `Response payload size exceeded maximum allowed payload size (${limit} bytes).`;

/** UTF-8 size of a value as Step Functions measures a payload: its JSON text. */
export function payloadBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null));
}

/**
 * The size DynamoDB counts for an item: each attribute's name plus its value (strings in UTF-8, numbers
 * about one byte per two digits plus one, booleans and nulls one, lists and maps 3 bytes plus one per
 * element plus the elements), as its developer guide describes it.
 */
export function dynamoItemBytes(item: Record<string, unknown>): number {
  const value = (v: unknown): number => {
    if (typeof v === 'string') return Buffer.byteLength(v);
    if (typeof v === 'number') return Math.ceil(String(Math.abs(v)).replace(/[.-]/g, '').length / 2) + 1;
    if (typeof v === 'boolean' || v === null || v === undefined) return 1;
    if (Array.isArray(v)) return 3 + v.reduce((sum: number, e) => sum + 1 + value(e), 0);
    if (typeof v === 'object')
      return 3 + dynamoItemBytes(v as Record<string, unknown>) + Object.keys(v).length;
    return 0;
  };
  let bytes = 0;
  for (const [name, v] of Object.entries(item))
    if (v !== undefined) bytes += Buffer.byteLength(name) + value(v);
  return bytes;
}
