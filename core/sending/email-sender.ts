/**
 * Sending one email, and the single classification of what a send failure means. The sender core talks
 * to `EmailSender`; the SES SDK client is one implementation, test stand-ins are others.
 */
import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { PreparedJson } from '../templates/prepared.ts';

export interface OutgoingEmail {
  from: string;
  to: string;
  replyTo?: string[];
  subject: string;
  html: string;
  text?: string | undefined;
  headers?: { name: string; value: string }[];
  tags?: readonly { readonly name: string; readonly value: string }[];
  configurationSet?: string | undefined;
  /**
   * `html` and `text` as the contents of their SendEmail JSON strings, pre-encoded where they are static
   * (core/templates/prepared.ts); the same text, so a sender may use them or ignore them. With them the
   * email has a text part (`text` is then defined, and may be joined only when read).
   */
  json?: PreparedJson | undefined;
}

export interface EmailSender {
  send(email: OutgoingEmail): Promise<{ messageId: string }>;
}

/**
 * - retry: try again later (throttling, quota bursts, 5xx, network)
 * - reject: this recipient's message will never go; record it and move on
 * - stop: the account cannot send; stop the whole campaign
 */
export type FailureAction = 'retry' | 'reject' | 'stop';

export interface ClassifiedFailure {
  action: FailureAction;
  /** True when SES said we are going too fast: slow down, not just retry. */
  throttled: boolean;
  code: string;
  message: string;
}

const RETRY = new Set([
  'TooManyRequestsException',
  'LimitExceededException',
  'Throttling',
  'ThrottlingException',
]);
const REJECT = new Set([
  'MessageRejected',
  'BadRequestException',
  'MailFromDomainNotVerifiedException',
  'NotFoundException',
  'InvalidParameterValue',
]);
const STOP = new Set(['SendingPausedException', 'AccountSuspendedException']);
const NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'TimeoutError',
]);

export function classifySendFailure(error: unknown): ClassifiedFailure {
  const e = error as {
    name?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const code = e?.name && e.name !== 'Error' ? e.name : (e?.code ?? 'Error');
  const message = String(e?.message ?? error).slice(0, 500);
  const status = e?.$metadata?.httpStatusCode;
  if (STOP.has(code)) return { action: 'stop', throttled: false, code, message };
  if (RETRY.has(code) || status === 429) return { action: 'retry', throttled: true, code, message };
  if (REJECT.has(code)) return { action: 'reject', throttled: false, code, message };
  if (status !== undefined && status >= 500) return { action: 'retry', throttled: false, code, message };
  if (status !== undefined && status >= 400) return { action: 'reject', throttled: false, code, message };
  if (NETWORK.has(code) || NETWORK.has(e?.code ?? ''))
    return { action: 'retry', throttled: false, code, message };
  // No HTTP status at all: the request never got an answer, so it is worth another try.
  return { action: 'retry', throttled: false, code, message };
}

export function toSendEmailInput(email: OutgoingEmail) {
  return {
    FromEmailAddress: email.from,
    Destination: { ToAddresses: [email.to] },
    ...(email.replyTo && email.replyTo.length > 0 ? { ReplyToAddresses: email.replyTo } : {}),
    Content: {
      Simple: {
        Subject: { Data: email.subject, Charset: 'UTF-8' },
        Body: {
          Html: { Data: email.html, Charset: 'UTF-8' },
          ...(email.text === undefined ? {} : { Text: { Data: email.text, Charset: 'UTF-8' } }),
        },
        ...(email.headers && email.headers.length > 0
          ? { Headers: email.headers.map((h) => ({ Name: h.name, Value: h.value })) }
          : {}),
      },
    },
    ...(email.tags && email.tags.length > 0
      ? { EmailTags: email.tags.map((t) => ({ Name: t.name, Value: t.value })) }
      : {}),
    ...(email.configurationSet ? { ConfigurationSetName: email.configurationSet } : {}),
  };
}

export class SesEmailSender implements EmailSender {
  constructor(private readonly ses: SESv2Client) {}

  async send(email: OutgoingEmail) {
    const out = await this.ses.send(new SendEmailCommand(toSendEmailInput(email)));
    if (!out.MessageId) throw new Error('SES accepted the message but returned no MessageId');
    return { messageId: out.MessageId };
  }
}
