/**
 * htmlToText alone, old (regex passes, test/support/html-to-text-reference.ts) against new (scanner), on the
 * rendered benchmark template: CPU microseconds per call in this process. `npx tsx bench/html-to-text-micro.ts`
 */
import { readFileSync } from 'node:fs';
import { htmlToText } from '../core/compliance/html-to-text.ts';
import { compileTemplate, renderTemplate } from '../core/template.ts';
import { htmlToText as reference } from '../test/support/html-to-text-reference.ts';

const source = readFileSync(new URL('./template.html', import.meta.url), 'utf8');
const compiled = compileTemplate({ subject: 'x', html: source });
// A few distinct recipients, so no call sees exactly the string the previous one did.
const pages = Array.from(
  { length: 64 },
  (_, i) =>
    renderTemplate(compiled, {
      email: `bench-${i}@example.com`,
      first_name: `Ada ${i}`,
      city: 'Lisbon',
      plan: ['free', 'pro', 'team'][i % 3],
      joined: '2024-03-01',
      points: String(i % 977),
      member_id: `M${i}`,
      month: 'November',
      company: 'sixback',
      sender_name: 'The team',
      unsubscribe_url: `https://x.example/u/${i}`,
    }).html,
);
for (const page of pages) {
  if (htmlToText(page) !== reference(page)) throw new Error('old and new disagree on the benchmark template');
}
console.log(`rendered template: ${pages[0]!.length} chars`);

function cpu(fn: (html: string) => string, n: number): number {
  let sink = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) sink += fn(pages[i & 63]!).length;
  const c = process.cpuUsage(t0);
  if (sink === 0) throw new Error('no output');
  return (c.user + c.system) / n;
}

const N = 20000;
cpu(reference, N);
cpu(htmlToText, N);
for (let round = 1; round <= 3; round++) {
  const old = cpu(reference, N);
  const now = cpu(htmlToText, N);
  console.log(
    `round ${round}: old ${old.toFixed(1)} us/op, new ${now.toFixed(1)} us/op, ${(old / now).toFixed(1)}x`,
  );
}
