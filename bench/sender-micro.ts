/**
 * The sender core alone: sendBatch over batches of prepared rows with an in-memory ledger and suppression
 * list and an EmailSender that accepts at once, so what is left is sixback's own per-email work (batch
 * parsing, rendering, the unsubscribe link, the ledger groups, the outcome). CPU µs per email.
 *
 *   npx tsx bench/sender-micro.ts [emails] [--no-render-text]
 */

import { MemorySuppressionList } from '../core/compliance/suppression.ts';
import { UnsubscribeLinks } from '../core/compliance/unsubscribe.ts';
import type { EmailSender, OutgoingEmail } from '../core/sending/email-sender.ts';
import { MemoryLedger } from '../core/sending/ledger.ts';
import { LearntRates, sendBatch } from '../core/sending/send-batch.ts';
import { CompiledTemplateCache } from '../core/templates/render.ts';
import { BENCH_TEMPLATE, sendBatchEvent } from './fixtures.ts';

const total = Number(process.argv[2] ?? 50_000);
const BATCH = 500;
let bodyBytes = 0;
const emails: EmailSender = {
  async send(email: OutgoingEmail) {
    bodyBytes += email.html.length;
    return { messageId: 'm' };
  },
};
const links = new UnsubscribeLinks({
  region: 'us-east-1',
  publicBaseUrl: 'http://localhost:8787',
  unsubscribeSecret: 'bench-secret-bench-secret-bench-secret',
} as never);
const deps = {
  emails,
  loadTemplate: async () => ({ ...BENCH_TEMPLATE, id: 'bench', version: 1 }) as never,
  ledger: new MemoryLedger(),
  suppression: new MemorySuppressionList(),
  recipientExtras: (campaignId: string, key: string) => links.extras(campaignId, key),
  maxInFlight: 16,
  templateCache: new CompiledTemplateCache(),
  learntRates: new LearntRates(),
};
// Warm up, then measure.
for (const round of ['warm-up', 'measured']) {
  const n = round === 'warm-up' ? 5_000 : total;
  const events = Array.from({ length: n / BATCH }, (_, b) =>
    sendBatchEvent('bench1', (round === 'warm-up' ? 10_000_000 : 0) + b * BATCH, BATCH),
  );
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const event of events) await sendBatch(event, deps);
  const cpu = process.cpuUsage(cpu0);
  if (round === 'measured')
    console.log(
      `sendBatch core: ${((cpu.user + cpu.system) / n).toFixed(1)} us CPU/email, ${(n / ((performance.now() - t0) / 1000)).toFixed(0)} emails/s (${n} emails, batches of ${BATCH}, ${bodyBytes > 0 ? 'rendered' : ''})`,
    );
}
