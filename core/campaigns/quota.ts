/**
 * The SES sending quota, and how a campaign's rate and size are fitted to it before anything is sent.
 *
 * - Rate: a campaign's rate is what the user asked for, or the deployment's configured default when they
 *   did not say (defaultCampaignRate), never more than MaxSendRate: sending faster would only be throttled.
 * - Size: the rows still to send must fit in what remains of the 24-hour quota (Max24HourSend minus
 *   SentLast24Hours). If they do not, the campaign is refused with QuotaExceededError, unless the user
 *   asked to `spread` it: then its rate is lowered to the quota's daily pace (Max24HourSend / 86,400 per
 *   second), at which it can never send more than the quota in any 24 hours. A quota below 1,440 a day
 *   (one email a minute: the SES sandbox) is too small to spread over and is refused either way.
 */
import { GetAccountCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { QuotaExceededError } from '../errors.ts';

export interface SendQuota {
  max24HourSend: number;
  maxSendRate: number;
  sentLast24Hours: number;
}

const DAY_SECONDS = 86_400;
/**
 * The slowest pace a spread campaign can keep: one email a minute. A batch holds its Map slot until its
 * next send is due, and a batch cannot wait longer than its deadline (core/sending/send-batch.ts).
 */
export const MIN_SPREAD_RATE = 1 / 60;

/** SES's GetAccount; undefined when SES cannot be asked (the caller then applies no quota). */
export async function sesSendQuota(ses: SESv2Client, timeoutMs = 5000): Promise<SendQuota | undefined> {
  try {
    const out = await ses.send(new GetAccountCommand({}), { abortSignal: AbortSignal.timeout(timeoutMs) });
    const quota = out.SendQuota;
    if (!quota?.MaxSendRate || quota.Max24HourSend === undefined) return undefined;
    return {
      // SES reports -1 for "unlimited" in some regions and accounts.
      max24HourSend: quota.Max24HourSend < 0 ? Number.POSITIVE_INFINITY : quota.Max24HourSend,
      maxSendRate: quota.MaxSendRate,
      sentLast24Hours: quota.SentLast24Hours ?? 0,
    };
  } catch {
    return undefined;
  }
}

/**
 * The rate of a campaign that names none: the configured default (config.defaultRate, the deploy
 * parameter defaultRate), capped by SES's MaxSendRate when the quota is known. Never the MaxSendRate
 * itself: one campaign would then take the account's whole rate and starve every other mail it sends.
 */
export function defaultCampaignRate(
  configured: number,
  quota: Pick<SendQuota, 'maxSendRate'> | undefined,
): number {
  return quota && quota.maxSendRate > 0 ? Math.min(configured, quota.maxSendRate) : configured;
}

/**
 * CampaignServiceDeps.defaultRate, the one rule on AWS and on the local stack (core/app.ts campaignServiceDeps): the quota
 * is asked for when a campaign is created, so a raised SES limit counts without a redeploy.
 */
export function defaultRateWithin(
  configured: number,
  sendQuota: (() => Promise<SendQuota | undefined>) | undefined,
): () => Promise<number> {
  return async () => defaultCampaignRate(configured, sendQuota ? await sendQuota() : undefined);
}

export interface RateDecision {
  /** Emails per second the campaign will be sent at. */
  rate: number;
  /** Why the rate differs from the one asked for, if it does. */
  note?: string;
  /** Seconds the send is expected to take at that rate. */
  estimatedSeconds: number;
}

const formatDuration = (seconds: number) => {
  if (seconds < 120) return `${Math.ceil(seconds)} s`;
  if (seconds < 7200) return `${Math.ceil(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
};

/** Fits a campaign of `toSend` emails asked at `requestedRate` to the quota; throws QuotaExceededError. */
export function fitToQuota(
  toSend: number,
  requestedRate: number,
  quota: SendQuota | undefined,
  spread: boolean,
): RateDecision {
  if (!quota) return { rate: requestedRate, estimatedSeconds: toSend / requestedRate };
  let rate = requestedRate;
  let note: string | undefined;
  if (rate > quota.maxSendRate) {
    rate = quota.maxSendRate;
    note = `lowered from ${requestedRate}/s to the SES maximum send rate of ${quota.maxSendRate}/s`;
  }
  const remaining = Math.max(0, quota.max24HourSend - quota.sentLast24Hours);
  if (toSend > remaining) {
    const dailyPace = quota.max24HourSend / DAY_SECONDS;
    const spreadSeconds = toSend / Math.min(rate, dailyPace);
    if (!spread) {
      throw new QuotaExceededError(
        `This campaign has ${toSend} emails to send but only ${remaining} remain of the SES 24-hour quota ` +
          `(${quota.max24HourSend} per 24 hours, ${quota.sentLast24Hours} already sent). ` +
          `Ask AWS for a higher quota, send a smaller list, or set "spread": true to send it at the quota's ` +
          `daily pace (about ${formatDuration(spreadSeconds)}).`,
        {
          details: {
            toSend,
            remaining,
            max24HourSend: quota.max24HourSend,
            sentLast24Hours: quota.sentLast24Hours,
            spreadSeconds: Math.ceil(spreadSeconds),
          },
        },
      );
    }
    if (dailyPace < MIN_SPREAD_RATE) {
      throw new QuotaExceededError(
        `This campaign has ${toSend} emails to send but only ${remaining} remain of the SES 24-hour quota ` +
          `(${quota.max24HourSend} per 24 hours), and that quota is too small to spread over: at its pace of ` +
          `one email every ${Math.round(1 / dailyPace)} s the send would take ${formatDuration(spreadSeconds)}. ` +
          'Ask AWS for production access or a higher quota, or send a smaller list.',
        {
          details: {
            toSend,
            remaining,
            max24HourSend: quota.max24HourSend,
            spreadSeconds: Math.ceil(spreadSeconds),
          },
        },
      );
    }
    if (dailyPace < rate) {
      rate = dailyPace;
      note = `spread to ${dailyPace.toPrecision(3)}/s so it stays within ${quota.max24HourSend} emails per 24 hours`;
    }
  }
  return { rate, estimatedSeconds: toSend / rate, ...(note ? { note } : {}) };
}
