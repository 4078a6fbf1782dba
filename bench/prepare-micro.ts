/**
 * Prepare's per-row work on a generated recipients CSV (bench/.cache/, the benchmark's own file), without
 * S3: the creation check (`checkRecipients`), Prepare's scan and the prepared file it writes
 * (`preparedChunks`, drained), and the Distributed Map adapter reading that prepared file back (the `aws`
 * dialect). One checkout, or two in alternating rounds when BEFORE_ROOT is given (e.g. a `git worktree` of
 * main): CPU seconds per step, median of the rounds, and both sides must produce the same prepared bytes.
 *
 *   npx tsx bench/prepare-micro.ts [rows] [rounds] [BEFORE_ROOT]
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { recipientsCsv } from './fixtures.ts';

const [rowsArg, roundsArg, beforeRoot] = process.argv.slice(2);
const ROWS = Number(rowsArg ?? 1_000_000);
const ROUNDS = Number(roundsArg ?? 3);
const afterRoot = new URL('..', import.meta.url).pathname;

async function load(root: string) {
  const url = (p: string) => pathToFileURL(`${root}/${p}`).href;
  return {
    scanner: await import(url('core/recipients/scanner.ts')),
    csv: await import(url('core/recipients/csv.ts')),
  };
}
type Side = Awaited<ReturnType<typeof load>>;
const sides: Record<string, Side> = { after: await load(afterRoot) };
if (beforeRoot) sides.before = await load(beforeRoot);

const file = await recipientsCsv(ROWS);
const cpuSeconds = async (work: () => Promise<void>) => {
  const start = process.cpuUsage();
  await work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
};

const prepared = new Map<string, Buffer>();
const timings: Record<string, Record<string, number[]>> = {};
for (let round = 0; round < ROUNDS; round++) {
  const order = Object.keys(sides);
  if (round % 2 === 1) order.reverse();
  for (const name of order) {
    const side = sides[name] as Side;
    timings[name] ??= { check: [], prepare: [], mapRead: [] };
    const t = timings[name];
    (t.check as number[]).push(
      await cpuSeconds(async () => {
        const check = await side.scanner.checkRecipients(createReadStream(file, { highWaterMark: 1 << 16 }));
        if (check.valid !== ROWS) throw new Error(`${name}: ${check.valid} valid rows of ${ROWS}`);
      }),
    );
    const hash = createHash('sha256');
    const parts: Buffer[] = [];
    (t.prepare as number[]).push(
      await cpuSeconds(async () => {
        const scanner = new side.scanner.RecipientsScanner(
          createReadStream(file, { highWaterMark: 1 << 16 }),
        );
        for await (const chunk of side.scanner.preparedChunks(scanner)) {
          const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
          hash.update(bytes);
          if (round === 0) parts.push(bytes);
        }
      }),
    );
    const digest = hash.digest();
    const seen = prepared.get('digest');
    if (seen && !seen.equals(digest)) throw new Error(`${name} wrote other prepared bytes`);
    prepared.set('digest', digest);
    if (round === 0 && !prepared.has('file')) prepared.set('file', Buffer.concat(parts));
    const preparedFile = prepared.get('file') as Buffer;
    (t.mapRead as number[]).push(
      await cpuSeconds(async () => {
        let records = 0;
        const source = Readable.from(
          (function* () {
            for (let at = 0; at < preparedFile.length; at += 1 << 16)
              yield preparedFile.subarray(at, at + (1 << 16));
          })(),
        );
        for await (const _ of side.csv.readCsvRecords(source, { dialect: 'aws', delimiter: ',' })) records++;
        if (records !== ROWS + 1) throw new Error(`${name}: read ${records} prepared records`);
      }),
    );
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
console.log(`${ROWS} rows (${statSync(file).size} bytes), ${ROUNDS} rounds, CPU seconds (median)`);
for (const [name, t] of Object.entries(timings)) {
  console.log(
    `${name.padEnd(7)} check ${median(t.check as number[]).toFixed(2)}  prepare ${median(t.prepare as number[]).toFixed(2)}  map read ${median(t.mapRead as number[]).toFixed(2)}`,
  );
}
