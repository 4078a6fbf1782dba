/**
 * htmlToText alone, old (the regex passes, test/support/html-to-text-reference.ts) against new (the scanner),
 * on the rendered benchmark template: CPU microseconds per call in this process.
 *   npx tsx bench/html-to-text-micro.ts
 * "fresh" renders the page for every call, as the sender does (a rendered page is a rope of pieces that the
 * first reader flattens), and subtracts the render alone; "reused" converts the same 64 pages again and again.
 */
import { readFileSync } from 'node:fs';
import { htmlToText } from '../core/templates/html-to-text.ts';
import { compileTemplate, renderTemplate } from '../core/templates/render.ts';
import { htmlToText as reference } from '../test/support/html-to-text-reference.ts';
import { benchVariables } from './fixtures.ts';

const source = readFileSync(new URL('./template.html', import.meta.url), 'utf8');
// With a text part of its own, renderTemplate does not call htmlToText: the render alone can be measured.
const compiled = compileTemplate({ subject: 'x', html: source, text: 'x' });
const vars = benchVariables;
const render = (i: number) => renderTemplate(compiled, vars(i)).html;
const pages = Array.from({ length: 64 }, (_, i) => render(i));
for (const page of pages) {
  if (htmlToText(page) !== reference(page)) throw new Error('old and new disagree on the benchmark template');
}
console.log(`rendered template: ${pages[0]!.length} chars`);

function cpu(fn: (i: number) => number, n: number): number {
  let sink = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) sink += fn(i);
  const c = process.cpuUsage(t0);
  if (sink === 0) throw new Error('no output');
  return (c.user + c.system) / n;
}

const N = 20000;
const cases = {
  renderOnly: (i: number) => render(i).length,
  freshOld: (i: number) => reference(render(i)).length,
  freshNew: (i: number) => htmlToText(render(i)).length,
  reusedOld: (i: number) => reference(pages[i & 63]!).length,
  reusedNew: (i: number) => htmlToText(pages[i & 63]!).length,
};
for (const fn of Object.values(cases)) cpu(fn, N);
for (let round = 1; round <= 3; round++) {
  const base = cpu(cases.renderOnly, N);
  const freshOld = cpu(cases.freshOld, N) - base;
  const freshNew = cpu(cases.freshNew, N) - base;
  const reusedOld = cpu(cases.reusedOld, N);
  const reusedNew = cpu(cases.reusedNew, N);
  console.log(
    `round ${round}: fresh old ${freshOld.toFixed(1)} new ${freshNew.toFixed(1)} us/op (${(freshOld / freshNew).toFixed(1)}x); ` +
      `reused old ${reusedOld.toFixed(1)} new ${reusedNew.toFixed(1)} us/op (${(reusedOld / reusedNew).toFixed(1)}x)`,
  );
}
