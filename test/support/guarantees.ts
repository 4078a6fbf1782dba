/**
 * Helpers for the delivery-guarantee tests: recipient lists, per-recipient count checks against the SES
 * stand-in, and the report's per-state totals.
 */
import { expect } from 'vitest';
import type { CampaignRecord } from '../../core/campaigns/store.ts';
import type { LocalStack } from '../../local/stack.ts';
import { parseReport, readObject } from './local-stack.ts';

export const FROM = 'news@sixback.example';
export const TEMPLATE = {
  subject: 'Hello {{ first_name }}',
  html: '<p>Hello {{ first_name }}, {{ email }}</p>',
};
/** Transactional: the tests are about delivery, not the unsubscribe policy. */
export const BASE_REQUEST = { templateId: 'plain', from: FROM, transactional: true };

export const address = (i: number) => `r${i}@example.com`;

/** The totals of a campaign that sent every one of its rows. */
export const allSent = (rows: number) => ({
  rows,
  sent: rows,
  duplicate: 0,
  suppressed: 0,
  invalid: 0,
  failed: 0,
  not_sent: 0,
});

/** A CSV of `count` recipients r1..rN@example.com. */
export function recipientsCsv(count: number, from = 1): string {
  const lines = ['email,first_name'];
  for (let i = from; i < from + count; i++) lines.push(`${address(i)},Name ${i}`);
  return `${lines.join('\n')}\n`;
}

/** Asserts every expected address was accepted exactly `times` and nothing else was. */
export function expectEachExactly(counts: Map<string, number>, expected: string[], times = 1): void {
  const wrong: string[] = [];
  for (const a of expected) {
    const n = counts.get(a.toLowerCase()) ?? 0;
    if (n !== times) wrong.push(`${a}: ${n}`);
  }
  const extra = [...counts.keys()].filter((a) => !expected.some((e) => e.toLowerCase() === a));
  expect(wrong.slice(0, 20), `${wrong.length} addresses not accepted exactly ${times}x`).toEqual([]);
  expect(extra.slice(0, 20), 'addresses that should not have been mailed').toEqual([]);
}

export async function reportRows(stack: LocalStack, campaign: CampaignRecord) {
  expect(campaign.reportKey, 'the campaign has a report').toBeDefined();
  return parseReport(await readObject(stack, campaign.reportKey as string));
}

export function countStates(rows: Record<string, string>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const row of rows) out[row.state as string] = (out[row.state as string] ?? 0) + 1;
  return out;
}

// The shared poller; re-exported for the delivery-guarantee tests that import it from here.
export { waitFor } from './wait.ts';
