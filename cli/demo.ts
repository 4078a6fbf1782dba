/**
 * `sixback demo`: a real campaign on the embedded local stack. Stores the sample template, uploads a CSV
 * of sample recipients, runs the campaign through the state machine, shows progress, prints a summary.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createCampaign } from '../core/campaigns/service.ts';
import { RECIPIENT_STATES, totalOf } from '../core/campaigns/status.ts';
import { keys } from '../core/config.ts';
import { startLocalStack } from '../local/stack.ts';
import { SAMPLE_TEMPLATE, sampleRecipientsCsv } from './sample.ts';

export interface DemoOptions {
  recipients: number;
  rate: number;
  json: boolean;
  keep: boolean;
  /** Also send to the SES mailbox simulator's five addresses (success, bounce, ooto, complaint, suppressionlist). */
  simulator?: boolean;
  /** Redraw the progress line in place (a terminal) instead of printing a line per change; '' ends it. */
  redraw?: (line: string) => void;
}

/** The mailbox simulator's addresses, each with the outcome SES documents for it. */
export const SIMULATOR_RECIPIENTS = ['success', 'bounce', 'ooto', 'complaint', 'suppressionlist'].map(
  (mailbox) => `${mailbox}@simulator.amazonses.com`,
);

export interface DemoSummary {
  campaignId: string;
  status: string;
  statusReason?: string;
  total: number;
  sent: number;
  failed: number;
  invalid: number;
  suppressed: number;
  duplicate: number;
  durationMs: number;
  /** What the local SES's events said (Delivery, Bounce, Complaint), once they were all handled. */
  delivered?: number;
  bounced?: number;
  complained?: number;
  reportKey?: string;
  inboxUrl?: string;
}

export async function runDemo(
  options: DemoOptions,
  out: (line: string) => void = console.log,
): Promise<DemoSummary> {
  const say = (line: string) => {
    if (!options.json) out(line);
  };
  const started = Date.now();
  const stack = await startLocalStack({ ephemeral: true, defaultRate: options.rate });
  try {
    say(`local stack up: S3 ${stack.urls.s3}, DynamoDB ${stack.urls.dynamodb}, SES ${stack.urls.ses}`);
    const template = await stack.deps.templates.save('welcome', SAMPLE_TEMPLATE);
    say(`template "welcome" v${template.version} stored (variables: ${template.variables.join(', ')})`);
    const recipientsKey = `${keys.recipientsUploadPrefix}demo-recipients.csv`;
    await stack.deps.clients.s3.send(
      new PutObjectCommand({
        Bucket: stack.config.bucket,
        Key: recipientsKey,
        Body:
          sampleRecipientsCsv(options.recipients) +
          (options.simulator
            ? SIMULATOR_RECIPIENTS.map((email) => `${email},Sim,Seattle,free\n`).join('')
            : ''),
        ContentType: 'text/csv',
      }),
    );
    say(`uploaded ${options.recipients} recipients to s3://${stack.config.bucket}/${recipientsKey}`);
    const campaign = await createCampaign(
      {
        name: 'sixback demo',
        templateId: 'welcome',
        recipientsKey,
        from: 'demo@sixback.example',
        data: { company: 'sixback', sender_name: 'The sixback team' },
        rate: options.rate,
      },
      stack.campaignDeps,
    );
    say(`campaign ${campaign.id} started at ${options.rate} emails/s (execution ${campaign.executionArn})`);
    const executionArn = campaign.executionArn as string;
    const done = stack.engine.wait(executionArn);
    let finished = false;
    done.then(() => {
      finished = true;
    });
    let lastLine = '';
    while (!finished) {
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 500))]);
      const now = await stack.deps.campaigns.get(campaign.id);
      const decided = totalOf(now.progress);
      const rows = now.check?.rows ?? options.recipients;
      if (!options.json && !finished) {
        const width = 30;
        const filled = Math.round((decided / Math.max(1, rows)) * width);
        const line = `  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${decided}/${rows} ${now.status} (sent ${now.progress.sent})`;
        // On a terminal one line is redrawn; elsewhere (logs, CI) a line only when it changed.
        if (options.redraw) options.redraw(line);
        else if (line !== lastLine) out(line);
        lastLine = line;
      }
    }
    // The last bar stays on screen; what follows starts on the next line.
    if (options.redraw && lastLine) options.redraw('');
    const execution = await done;
    // SES's events come after the sends (asynchronously, as on AWS): wait until the handler has them all.
    await stack.ses?.events.idle();
    const final = await stack.deps.campaigns.get(campaign.id);
    const events = (final.events ?? {}) as Record<string, number | undefined>;
    const counts = final.totals ?? { ...final.progress, rows: final.check?.rows ?? 0 };
    const summary: DemoSummary = {
      campaignId: final.id,
      status: final.status,
      ...(final.statusReason ? { statusReason: final.statusReason } : {}),
      total: counts.rows,
      sent: counts.sent,
      failed: counts.failed,
      invalid: counts.invalid,
      suppressed: counts.suppressed,
      duplicate: counts.duplicate,
      durationMs: Date.now() - started,
      ...(stack.ses ? { delivered: events.delivery ?? 0 } : {}),
      ...(stack.ses && options.simulator
        ? { bounced: (events.bounce ?? 0) + (events.transientBounce ?? 0), complained: events.complaint ?? 0 }
        : {}),
      ...(final.reportKey ? { reportKey: final.reportKey } : {}),
      ...(stack.urls.inbox ? { inboxUrl: stack.urls.inbox } : {}),
    };
    say('');
    say(
      `campaign ${summary.campaignId}: ${summary.status}${summary.statusReason ? ` (${summary.statusReason})` : ''}`,
    );
    say(
      `  execution ${execution.status}${execution.error ? ` ${execution.error.Error}: ${execution.error.Cause}` : ''}`,
    );
    for (const state of RECIPIENT_STATES) say(`  ${state.padEnd(11)} ${counts[state]}`);
    say(`  total       ${counts.rows}`);
    if (summary.delivered !== undefined) say(`  delivered   ${summary.delivered} (SES Delivery events)`);
    if (summary.bounced !== undefined) say(`  bounced     ${summary.bounced}`);
    if (summary.complained !== undefined) say(`  complained  ${summary.complained}`);
    say(`  took        ${(summary.durationMs / 1000).toFixed(1)} s`);
    if (summary.reportKey) say(`  report      s3://${stack.config.bucket}/${summary.reportKey}`);
    if (options.keep && stack.urls.inbox) {
      say(`\nThe local SES inbox is at ${stack.urls.inbox} — press Ctrl-C to stop.`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    if (options.json) out(JSON.stringify(summary));
    return summary;
  } finally {
    await stack.stop();
  }
}
