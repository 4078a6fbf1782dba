/**
 * The benchmark's inputs: a personalised template (3 KB, bench/template.html, or 100 KB,
 * bench/template-100kb.html from bench/make-template.ts, or any file) and a recipients CSV, cached under
 * bench/.cache/.
 */
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { packValues } from '../core/recipients/scanner.ts';

export const CACHE_DIR = fileURLToPath(new URL('./.cache/', import.meta.url));

/** The committed template of each benchmark size (`--email-kb`). */
export const TEMPLATE_FILES: Record<number, string> = {
  3: fileURLToPath(new URL('./template.html', import.meta.url)),
  100: fileURLToPath(new URL('./template-100kb.html', import.meta.url)),
};

/** The template file of a run: `--template FILE`, else the fixture of `--email-kb` (default 3). */
export function benchTemplateFile(options: { emailKb?: number | undefined; template?: string | undefined }) {
  if (options.template) return options.template;
  const kb = options.emailKb ?? 3;
  const file = TEMPLATE_FILES[kb];
  if (!file)
    throw new Error(`No benchmark template of ${kb} KB: use --email-kb 3 or 100, or --template FILE`);
  return file;
}

export interface BenchTemplate {
  name: string;
  subject: string;
  html: string;
  text?: string;
}

/**
 * A benchmark template from an HTML file; its variables are filled from the CSV columns and BENCH_DATA.
 * A FILE.txt beside FILE.html is its text part (else the text part is derived from the HTML).
 */
export function loadBenchTemplate(file: string): BenchTemplate {
  const textFile = file.replace(/\.html?$/, '.txt');
  return {
    name: 'Benchmark: monthly update',
    subject: 'Your {{ month }} update from {{ company }}, {{ first_name }}',
    html: readFileSync(file, 'utf8'),
    ...(textFile !== file && existsSync(textFile) ? { text: readFileSync(textFile, 'utf8') } : {}),
  };
}

/** The micro-benchmarks' template: BENCH_TEMPLATE_FILE when set, else the 3 KB one. */
export const BENCH_TEMPLATE = loadBenchTemplate(
  process.env.BENCH_TEMPLATE_FILE ?? (TEMPLATE_FILES[3] as string),
);

/** Campaign data shared by every recipient (the rest comes from the CSV's columns). */
export const BENCH_DATA = { company: 'sixback', sender_name: 'The sixback team', month: 'November' };

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Tim'];
const CITIES = ['Seoul', 'Busan', 'Lisbon', 'Nairobi', 'Lima', 'Oslo', 'Osaka', 'Austin'];
const PLANS = ['free', 'pro', 'team'];

/** The template variables of recipient i as the sender builds them (campaign data, the row, sixback's
 * own), for the micro-benchmarks that render without a pipeline. */
export function benchVariables(i: number): Record<string, unknown> {
  return {
    ...BENCH_DATA,
    email: benchAddress(i),
    first_name: `Ada ${i}`,
    city: 'Lisbon',
    plan: PLANS[i % PLANS.length],
    joined: '2024-03-01',
    points: String(i % 977),
    member_id: `M${i}`,
    campaign_id: 'c1',
    unsubscribe_url: `https://x.example/u/${i}`,
  };
}

/** Recipient i is bench-<i>@example.com; the stand-in checks every one arrived exactly once. */
export const benchAddress = (i: number) => `bench-${i}@example.com`;

export function recipientLine(i: number): string {
  const first = FIRST[i % FIRST.length] as string;
  const city = CITIES[i % CITIES.length] as string;
  const plan = PLANS[i % PLANS.length] as string;
  const joined = `20${10 + (i % 15)}-0${1 + (i % 9)}-1${i % 10}`;
  return `${benchAddress(i)},${first} ${i},${city},${plan},${joined},${(i * 37) % 10_000},M${100_000 + i}\n`;
}

export const CSV_HEADER = 'email,first_name,city,plan,joined,points,member_id\n';

/** The path of a CSV of `count` recipients, written once and reused. */
export async function recipientsCsv(count: number): Promise<string> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const path = `${CACHE_DIR}recipients-${count}.csv`;
  if (existsSync(path)) return path;
  const partial = `${path}.partial`;
  const out = createWriteStream(partial);
  let chunk = CSV_HEADER;
  for (let i = 0; i < count; i++) {
    chunk += recipientLine(i);
    if (chunk.length >= 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  renameSync(partial, path);
  return path;
}

/** The benchmark CSV's columns: prepared rows carry their values in this order (the values form). */
const COLUMNS = CSV_HEADER.trim().split(',');

/** A SendBatch event as the Map hands it over: `size` prepared rows of the benchmark CSV from row `first`. */
export function sendBatchEvent(campaignId: string, first: number, size: number) {
  const Items = [];
  for (let i = first; i < first + size; i++) {
    const fields = recipientLine(i).trim().split(',');
    Items.push({
      index: i,
      row: {
        row: String(i + 2),
        state: 'ok',
        email: encodeURIComponent(benchAddress(i)),
        note: '',
        vars: packValues(fields),
      },
    });
  }
  return {
    BatchInput: {
      campaignId,
      templateId: 'bench',
      templateVersion: 1,
      from: 'news@sixback.example',
      data: BENCH_DATA,
      workerRate: 1_000_000,
      run: 1,
      columns: COLUMNS,
    },
    Items,
  };
}
