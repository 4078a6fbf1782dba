/** The sender renders a campaign's pinned partials, loaded once per template, never per email. */
import { describe, expect, it } from 'vitest';
import { MemorySuppressionList } from '../../core/compliance/suppression.ts';
import { packVars, preparedLine } from '../../core/recipients/scanner.ts';
import type { TemplateRecord } from '../../core/schemas.ts';
import type { EmailSender, OutgoingEmail } from '../../core/sending/email-sender.ts';
import { MemoryLedger } from '../../core/sending/ledger.ts';
import { LearntRates, sendBatch } from '../../core/sending/send-batch.ts';
import { type PartialPins, resolvePartials } from '../../core/templates/partials.ts';
import { CompiledTemplateCache, parseTemplatePart } from '../../core/templates/render.ts';

const LETTER: TemplateRecord = {
  id: 'letter',
  version: 1,
  subject: 'Hi {{ first_name }}',
  html: "<p>Hi {{ first_name }}</p>{% include 'footer' %}",
  variables: ['first_name'],
  createdAt: '2026-11-25T00:00:00.000Z',
};
const FOOTERS = [
  { id: 'footer', version: 1, subject: 'f', html: '<footer>one</footer>' },
  { id: 'footer', version: 2, subject: 'f', html: '<footer>two</footer>' },
];

function batch(count: number, partials: PartialPins, campaignId: string) {
  return {
    BatchInput: {
      campaignId,
      templateId: 'letter',
      templateVersion: 1,
      from: 'news@sixback.example',
      workerRate: 100_000,
      partials,
    },
    Items: Array.from({ length: count }, (_, i) => {
      const email = `r${i}@example.com`;
      const [r, state, e, note, vars] = preparedLine({
        row: i + 2,
        state: 'ok',
        email,
        note: '',
        vars: packVars({ email, first_name: `N${i}` }),
      })
        .trim()
        .split(',');
      return { index: i, row: { row: r, state, email: e, note, vars } };
    }),
  };
}

describe('sendBatch with partials', () => {
  it('sends the pinned partial version and loads partials once for the whole batch', async () => {
    const sent: OutgoingEmail[] = [];
    const emails: EmailSender = {
      send: async (email) => {
        sent.push(email);
        return { messageId: `m${sent.length}` };
      },
    };
    let partialLoads = 0;
    const deps = {
      emails,
      loadTemplate: async () => LETTER,
      loadPartials: async (template: TemplateRecord, pins: PartialPins) => {
        partialLoads++;
        const load = async (_id: string, version?: number) => FOOTERS[(version ?? 2) - 1]!;
        return resolvePartials(template, load, parseTemplatePart, { pins });
      },
      ledger: new MemoryLedger(),
      suppression: new MemorySuppressionList(),
      maxInFlight: 4,
      ledgerFlushMs: 60_000,
      sleep: async () => undefined,
      templateCache: new CompiledTemplateCache(),
      learntRates: new LearntRates(),
    };
    const result = await sendBatch(batch(40, { footer: 1 }, 'c-partials-1'), deps);
    expect(JSON.stringify(result)).not.toMatch(/error/i);
    expect(sent).toHaveLength(40);
    for (const email of sent) expect(email.html).toContain('<footer>one</footer>');
    expect(partialLoads).toBe(1);
    // Another campaign of the same template version pinned another footer: it gets its own.
    await sendBatch(batch(5, { footer: 2 }, 'c-partials-2'), deps);
    expect(sent.slice(40).every((e) => e.html.includes('<footer>two</footer>'))).toBe(true);
    expect(partialLoads).toBe(2);
  });
});
