/**
 * Every error sixback raises on purpose is one of these classes. Two functions at the bottom map them
 * to the outside world: `toHttpError` for the API and `stepFunctionsErrorName` for the state machine
 * (the `name` is what Retry/Catch match on). Nothing else decides statuses.
 */

export type ErrorDetails = Record<string, unknown> | Array<Record<string, unknown>>;

export abstract class SixbackError extends Error {
  abstract readonly code: string;
  readonly details: ErrorDetails | undefined;

  constructor(message: string, options?: { cause?: unknown; details?: ErrorDetails }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options?.details;
  }
}

/** A request or payload that does not match its schema. */
export class ValidationError extends SixbackError {
  readonly code = 'validation_failed';
}

export class NotFoundError extends SixbackError {
  readonly code = 'not_found';
}

export class UnauthorizedError extends SixbackError {
  readonly code = 'unauthorized';
}

/** A campaign asked to move between two statuses that have no legal transition. */
export class IllegalTransitionError extends SixbackError {
  readonly code = 'illegal_transition';
}

/** Liquid that does not parse; details carry line and column. */
export class TemplateSyntaxError extends SixbackError {
  readonly code = 'template_syntax';
}

/**
 * A partial that is not a stored template (a file path, a name from a variable), is missing, or forms a
 * cycle or too deep a nesting. Templates never read files: the message says how to name a stored one.
 */
export class TemplatePartialError extends SixbackError {
  readonly code = 'template_partial';
}

/** The template uses variables that neither a CSV column nor campaign data provides. */
export class MissingVariablesError extends SixbackError {
  readonly code = 'missing_variables';
}

/** A recipients file that cannot be used at all (not a CSV, no email column, empty, not UTF-8...). */
export class RecipientsFileError extends SixbackError {
  readonly code = 'recipients_file';
}

/**
 * The recipients file was replaced (or deleted) after the campaign was created and checked it: its S3
 * ETag, which names the object's content, is no longer the one the check read. Nothing is sent; the
 * campaign is resumed or created again to check the new file.
 */
export class RecipientsChangedError extends SixbackError {
  readonly code = 'recipients_changed';
}

/**
 * A file sixback wrote itself and reads back later (a campaign's prepared recipients file, the
 * Distributed Map's result manifest or result files) is no longer in the bucket: deleted by hand or by a
 * lifecycle rule before the campaign finished. Not the sender's input, so not a RecipientsFileError.
 */
export class StoredObjectMissingError extends SixbackError {
  readonly code = 'stored_object_missing';
}

/** Row-level problems the user asked to treat as fatal (onInvalidRows: "abort"). */
export class InvalidRowsError extends SixbackError {
  readonly code = 'invalid_rows';
}

/** The campaign is larger than what remains of the SES 24-hour quota. */
export class QuotaExceededError extends SixbackError {
  readonly code = 'quota_exceeded';
}

/** Totals do not add up to the rows read: the one thing that must never happen silently. */
export class UnaccountedRowsError extends SixbackError {
  readonly code = 'unaccounted_rows';
}

/** SES kept throttling after the sender's own retries: the state machine retries the batch. */
export class SesThrottledError extends SixbackError {
  readonly code = 'ses_throttled';
}

/** SES or the network failed transiently after the sender's own retries. */
export class SesTransientError extends SixbackError {
  readonly code = 'ses_transient';
}

/** Sending is paused or the account suspended: the whole campaign must stop. */
export class SesSendingStoppedError extends SixbackError {
  readonly code = 'ses_sending_stopped';
}

/**
 * Too little is left of a batch's child execution (EXPRESS: 300 s, retries included) for another attempt.
 * Not retried: the child fails at once, before AWS would time it out with a Lambda still sending.
 */
export class BatchOutOfTimeError extends SixbackError {
  readonly code = 'batch_out_of_time';
}

/**
 * A batch found its campaign stopped (cancelled, failed, or superseded by a newer run) and sent no more.
 * Not retried by the state machine: the campaign's status already says why.
 */
export class CampaignStoppedError extends SixbackError {
  readonly code = 'campaign_stopped';
}

/** The local engine met an ASL field it does not reproduce; failing loudly beats running something else. */
export class UnsupportedAslError extends SixbackError {
  readonly code = 'unsupported_asl';
}

export class ConfigError extends SixbackError {
  readonly code = 'config';
}

/** An unsubscribe link whose token was altered, forged or truncated. */
export class InvalidUnsubscribeTokenError extends SixbackError {
  readonly code = 'invalid_unsubscribe_token';
}

/** A marketing campaign whose template offers no {{ unsubscribe_url }} link. */
export class UnsubscribeLinkMissingError extends SixbackError {
  readonly code = 'unsubscribe_link_missing';
}

/** A From address outside the configured sender identities. */
export class SenderNotAllowedError extends SixbackError {
  readonly code = 'sender_not_allowed';
}

/** The request conflicts with the current state: a template still used by an active campaign, a report
 * not written yet, an Idempotency-Key reused for a different request. */
export class ConflictError extends SixbackError {
  readonly code = 'conflict';
}

/** A template that parses but cannot render with the given variables (preview, test send). */
export class TemplateRenderError extends SixbackError {
  readonly code = 'template_render';
}

/** An uploaded object that is missing, too large or of the wrong type (S3 POST policies are re-checked). */
export class UploadRejectedError extends SixbackError {
  readonly code = 'upload_rejected';
}

/** A request body over the API's size limit. */
export class PayloadTooLargeError extends SixbackError {
  readonly code = 'payload_too_large';
}

/** A webhook URL that is not http(s), or points inside the network where that is not allowed. */
export class WebhookUrlRefusedError extends SixbackError {
  readonly code = 'webhook_url_refused';
}

/** SES refused or failed a test email; details carry SES's own reason. */
export class TestSendFailedError extends SixbackError {
  readonly code = 'test_send_failed';
}

/** An A/B test held for a manual pick that nobody made in time; pick a variant and resume. */
export class AbTestUndecidedError extends SixbackError {
  readonly code = 'ab_test_undecided';
}

/**
 * Events that could not be handed to the event bus (PutEvents failed, or refused some entries). `failedIds`
 * are the events not published; the SES events batch that raised it is recorded already and is retried
 * for them (its outcome store still lists them as unpublished).
 */
export class EventPublishError extends SixbackError {
  readonly code = 'event_publish_failed';
  constructor(
    message: string,
    readonly failedIds: string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * An applied event whose count group may still be counting it (core/compliance/count-journal.ts): its
 * writer may be running. The SES event's message fails and comes back later; an unsubscribe POST answers
 * 503, for the mail client to try again (the address is suppressed already).
 */
export class CountPendingError extends SixbackError {
  readonly code = 'count_pending';
}

/** A count group's journal was sealed or claimed by a redelivery meanwhile: its events come back as orphans. */
export class CountGroupLostError extends SixbackError {
  readonly code = 'count_group_lost';
}

const HTTP_STATUS: Record<string, number> = {
  count_pending: 503,
  validation_failed: 400,
  template_syntax: 422,
  template_partial: 422,
  missing_variables: 422,
  recipients_file: 422,
  recipients_changed: 409,
  stored_object_missing: 500,
  invalid_rows: 422,
  quota_exceeded: 422,
  unauthorized: 401,
  not_found: 404,
  illegal_transition: 409,
  conflict: 409,
  template_render: 422,
  upload_rejected: 422,
  payload_too_large: 413,
  test_send_failed: 502,
  invalid_unsubscribe_token: 400,
  unsubscribe_link_missing: 422,
  sender_not_allowed: 422,
  webhook_url_refused: 422,
};

export interface HttpError {
  status: number;
  body: { error: { code: string; message: string; details?: ErrorDetails } };
}

/** The one place that turns an error into an HTTP answer. Unknown errors never leak their message. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof SixbackError && HTTP_STATUS[error.code] !== undefined) {
    const body: HttpError['body'] = { error: { code: error.code, message: error.message } };
    if (error.details !== undefined) body.error.details = error.details;
    return { status: HTTP_STATUS[error.code] as number, body };
  }
  return {
    status: 500,
    body: { error: { code: 'internal', message: 'Internal error; see the server log.' } },
  };
}

/** Step Functions matches Retry/Catch on the error name; SixbackError subclasses use their class name. */
export function stepFunctionsErrorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}
