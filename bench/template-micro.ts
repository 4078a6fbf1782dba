/**
 * CPU microseconds per render of the benchmark template's liquid parts (subject + html), liquidjs
 * alone vs the fast renderer (core/templates/fast-render.ts), and renderTemplate end to end (which adds
 * htmlToText, as the benchmark template has no text part). Run: npx tsx bench/template-micro.ts [n]
 */
import { compileTemplate, createEngines, renderTemplate } from '../core/templates/render.ts';
import { BENCH_TEMPLATE, benchVariables } from './fixtures.ts';

// The engines sixback builds (stored-partials fs, no disk access), as the reference.
const { html: htmlEngine, text: plainEngine } = createEngines(new Map());

const compiled = compileTemplate(BENCH_TEMPLATE);
const fast = compiled.fast;
if (!fast?.subject || !fast.html) throw new Error('the benchmark template is outside the fast subset');
const fastSubject = fast.subject;
const fastHtml = fast.html;

// Characters the HTML engine must escape, in a variable every render outputs.
const vars = (i: number) => ({ ...benchVariables(i), unsubscribe_url: `https://x.example/u/${i}?t=a&b=<c>` });
const N = Number(process.argv[2] ?? 20000);
const inputs = Array.from({ length: 1000 }, (_, i) => vars(i));

for (let i = 0; i < 1000; i++) {
  const v = inputs[i]!;
  if (fastSubject(v) !== plainEngine.renderSync(compiled.subject, v)) throw new Error('subject differs');
  if (fastHtml(v) !== htmlEngine.renderSync(compiled.html, v)) throw new Error('html differs');
}

function cpu(label: string, fn: (v: Record<string, unknown>) => unknown) {
  for (let i = 0; i < 2000; i++) fn(inputs[i % 1000]!); // warm up
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) fn(inputs[i % 1000]!);
  const c = process.cpuUsage(t0);
  const us = (c.user + c.system) / N;
  console.log(`${label.padEnd(44)} ${us.toFixed(2)} us/render cpu`);
  return us;
}

for (let round = 0; round < 2; round++) {
  console.log(`round ${round + 1}, n=${N}`);
  const slow = cpu('liquidjs (subject + html)', (v) => {
    plainEngine.renderSync(compiled.subject, v);
    htmlEngine.renderSync(compiled.html, v);
  });
  const quick = cpu('fast (subject + html)', (v) => {
    fastSubject(v);
    fastHtml(v);
  });
  console.log(`${'speed-up'.padEnd(44)} ${(slow / quick).toFixed(1)}x`);
  cpu('renderTemplate (fast liquid + htmlToText)', (v) => renderTemplate(compiled, v));
}
