/**
 * The per-recipient report with what happened after "sent": the finaliser's report (row, email, state,
 * message id, reason) joined, when it is asked for, with each recipient's outcome (analytics-store.ts).
 * Joined at read time because the outcomes keep arriving for days after the campaign finished: a
 * delivery within seconds, opens and clicks whenever people read. Streamed in groups of GROUP rows (one
 * batch read of outcomes each), so a million-row report is never held in memory.
 */
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { keys } from '../config.ts';
import { readCsvRecords } from '../recipients/csv.ts';
import { addressKey } from '../recipients/email-address.ts';
import type { AnalyticsStore } from './analytics-store.ts';
import type { RecipientOutcome } from './outcomes.ts';

export const OUTCOME_COLUMNS = [
  'delivered_at',
  'bounce_type',
  'bounce_reason',
  'complained_at',
  'first_opened_at',
  'opens',
  'clicks',
  'links_clicked',
] as const;

const GROUP = 500;

const csvCell = (value: string | number | undefined) => {
  const text = value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

/** The report's extra cells for one recipient (empty for rows never sent or with no events yet). */
export function outcomeCells(outcome: RecipientOutcome | undefined): string[] {
  if (!outcome) return OUTCOME_COLUMNS.map(() => '');
  const bounce = outcome.bounceType
    ? `${outcome.bounceType}${outcome.bounceSubType ? `/${outcome.bounceSubType}` : ''}`
    : undefined;
  return [
    outcome.deliveredAt,
    bounce,
    outcome.bounceReason,
    outcome.complainedAt,
    outcome.firstOpenedAt,
    outcome.opens ?? 0,
    outcome.clicks ?? 0,
    // Links hold no spaces (RFC 3986), so a space separates them.
    (outcome.links ?? []).join(' '),
  ].map(csvCell);
}

/** The report, line by line, with the outcome columns added. */
export async function* reportWithOutcomes(
  report: AsyncIterable<Uint8Array | string>,
  campaignId: string,
  analytics: Pick<AnalyticsStore, 'recipients'>,
): AsyncGenerator<string> {
  let header: string[] | undefined;
  let emailAt = 1;
  let stateAt = 2;
  let group: string[][] = [];
  const flush = async function* () {
    const sent = group.filter((f) => f[stateAt] === 'sent').map((f) => addressKey(f[emailAt] ?? ''));
    const outcomes = sent.length > 0 ? await analytics.recipients(campaignId, sent) : new Map();
    let text = '';
    for (const fields of group) {
      const outcome =
        fields[stateAt] === 'sent' ? outcomes.get(addressKey(fields[emailAt] ?? '')) : undefined;
      text += `${[...fields.map(csvCell), ...outcomeCells(outcome)].join(',')}\n`;
    }
    group = [];
    yield text;
  };
  for await (const record of readCsvRecords(report, { dialect: 'rfc4180' })) {
    if (!header) {
      header = record.fields;
      emailAt = Math.max(0, header.indexOf('email'));
      stateAt = Math.max(0, header.indexOf('state'));
      yield `${[...header, ...OUTCOME_COLUMNS].join(',')}\n`;
      continue;
    }
    group.push(record.fields);
    if (group.length >= GROUP) yield* flush();
  }
  if (group.length > 0) yield* flush();
}

/** Writes the joined report next to the finaliser's and returns its key (for a download link). */
export async function writeReportWithOutcomes(
  campaignId: string,
  report: Readable,
  deps: { s3: S3Client; bucket: string; analytics: Pick<AnalyticsStore, 'recipients'> },
): Promise<string> {
  const key = keys.outcomesReport(campaignId);
  await new Upload({
    client: deps.s3,
    params: {
      Bucket: deps.bucket,
      Key: key,
      Body: Readable.from(reportWithOutcomes(report, campaignId, deps.analytics)),
      ContentType: 'text/csv; charset=utf-8',
    },
  }).done();
  return key;
}
