/**
 * Helpers for integration tests on the embedded local stack: start one per test file, upload a CSV,
 * run a campaign to its end, read the SES inbox.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createCampaign } from '../../core/campaigns/service.ts';
import type { CampaignRecord } from '../../core/campaigns/store.ts';
import { keys } from '../../core/config.ts';
import type { TemplateInput } from '../../core/schemas.ts';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack.ts';

export interface InboxEmail {
  messageId: string;
  from: string;
  destination: { to: string[] };
  subject: string;
  body: { html?: string; text?: string };
  headers?: { name: string; value: string }[];
}

export async function startTestStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  // Retries in tests pause 10 ms instead of seconds; the logic is the same.
  return startLocalStack({
    ephemeral: true,
    retryIntervalOverrides: {
      SendBatch: 10,
      SendSampleBatch: 10,
      SendRemainderBatch: 10,
      Prepare: 10,
      BeginSending: 10,
      Finalise: 10,
      RecordFailure: 10,
      PickWinner: 10,
      FinaliseTest: 10,
    },
    ...options,
  });
}

export async function uploadCsv(stack: LocalStack, name: string, body: string | Uint8Array): Promise<string> {
  const key = `${keys.recipientsUploadPrefix}${name}`;
  await stack.deps.clients.s3.send(
    new PutObjectCommand({ Bucket: stack.config.bucket, Key: key, Body: body }),
  );
  return key;
}

export async function readObject(stack: LocalStack, key: string): Promise<string> {
  const out = await stack.deps.clients.s3.send(
    new GetObjectCommand({ Bucket: stack.config.bucket, Key: key }),
  );
  return (await out.Body?.transformToString('utf8')) ?? '';
}

export async function saveTemplate(stack: LocalStack, id: string, input: TemplateInput) {
  return stack.deps.templates.save(id, input);
}

/** Creates a campaign, waits for its execution to end, and returns the final record. */
export async function runCampaign(
  stack: LocalStack,
  request: Record<string, unknown>,
): Promise<{ campaign: CampaignRecord; execution: Awaited<ReturnType<LocalStack['engine']['wait']>> }> {
  const created = await createCampaign(request, stack.campaignDeps);
  const execution = await stack.engine.wait(created.executionArn as string);
  return { campaign: await stack.deps.campaigns.get(created.id), execution };
}

export async function inbox(stack: LocalStack): Promise<InboxEmail[]> {
  const response = await fetch(`${stack.urls.ses}/store`);
  const store = (await response.json()) as { emails: InboxEmail[] };
  return store.emails;
}

export async function clearInbox(stack: LocalStack): Promise<void> {
  await fetch(`${stack.urls.ses}/clear-store`, { method: 'POST' });
}

/** Parses the per-recipient report CSV (sixback writes it; fields never hold line breaks). */
export function parseReport(csv: string): Record<string, string>[] {
  const [header, ...lines] = csv.trim().split('\n');
  const names = (header ?? '').split(',');
  return lines.map((line) => {
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quoted) {
        if (c === '"' && line[i + 1] === '"') {
          field += '"';
          i++;
        } else if (c === '"') quoted = false;
        else field += c;
      } else if (c === '"') quoted = true;
      else if (c === ',') {
        fields.push(field);
        field = '';
      } else field += c;
    }
    fields.push(field);
    return Object.fromEntries(names.map((name, i) => [name, fields[i] ?? '']));
  });
}
