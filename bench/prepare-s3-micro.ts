/**
 * The recipients file's passes before the first send, through local S3 (s3rver, in this process as in the
 * local stack), on the benchmark's own CSV: CPU seconds of this process and wall time of
 *
 *   check   creation's check alone (GetObject + checkRecipients): what creation did before this branch;
 *   prepare one read that checks and streams the prepared file to S3 (openUpload + writePreparedFile):
 *           what Prepare did before, and what creation does now.
 *
 * So before = check + prepare, after = prepare (Prepare then reads no file: two HeadObjects). Rounds
 * alternate the order of the two steps; medians are printed.
 *
 *   npx tsx bench/prepare-s3-micro.ts [rows] [rounds]
 */
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { openUpload, writePreparedFile } from '../core/recipients/prepared-file.ts';
import { checkRecipients, RecipientsScanner } from '../core/recipients/scanner.ts';
import { startS3 } from '../local/services.ts';
import { recipientsCsv } from './fixtures.ts';

const [rowsArg, roundsArg] = process.argv.slice(2);
const ROWS = Number(rowsArg ?? 200_000);
const ROUNDS = Number(roundsArg ?? 3);

const file = await recipientsCsv(ROWS);
const dir = mkdtempSync(join(tmpdir(), 'sixback-s3-micro-'));
const s3server = await startS3(dir);
const s3 = new S3Client({
  region: 'us-east-1',
  endpoint: s3server.url,
  forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const bucket = 'bench';
await s3.send(new CreateBucketCommand({ Bucket: bucket }));
const key = 'uploads/recipients/bench.csv';
await s3.send(
  new PutObjectCommand({
    Bucket: bucket,
    Key: key,
    Body: createReadStream(file),
    ContentLength: statSync(file).size,
  }),
);

const measure = async (work: () => Promise<void>) => {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const cpu = process.cpuUsage(cpu0);
  return { cpu: (cpu.user + cpu.system) / 1e6, wall: (performance.now() - t0) / 1000 };
};
const steps: Record<string, () => Promise<void>> = {
  check: async () => {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const check = await checkRecipients(out.Body as AsyncIterable<Uint8Array>);
    if (check.valid !== ROWS) throw new Error(`check: ${check.valid} valid rows of ${ROWS}`);
  },
  prepare: async () => {
    const { body } = await openUpload(s3, bucket, key, () => new Error('no upload'));
    const check = await writePreparedFile(
      s3,
      bucket,
      'campaigns/bench/recipients.prepared.csv',
      new RecipientsScanner(body),
    );
    if (check.valid !== ROWS) throw new Error(`prepare: ${check.valid} valid rows of ${ROWS}`);
  },
};
const results: Record<string, { cpu: number[]; wall: number[] }> = {};
try {
  for (let round = 0; round < ROUNDS; round++) {
    const order = Object.keys(steps);
    if (round % 2 === 1) order.reverse();
    for (const name of order) {
      const r = await measure(steps[name] as () => Promise<void>);
      results[name] ??= { cpu: [], wall: [] };
      results[name].cpu.push(r.cpu);
      results[name].wall.push(r.wall);
    }
  }
} finally {
  await s3server.close();
  rmSync(dir, { recursive: true, force: true });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const check = results.check as { cpu: number[]; wall: number[] };
const prepare = results.prepare as { cpu: number[]; wall: number[] };
console.log(`${ROWS} rows (${statSync(file).size} bytes) through local S3, ${ROUNDS} rounds, median`);
console.log(`check   CPU ${median(check.cpu).toFixed(2)} s  wall ${median(check.wall).toFixed(2)} s`);
console.log(`prepare CPU ${median(prepare.cpu).toFixed(2)} s  wall ${median(prepare.wall).toFixed(2)} s`);
console.log(
  `before (check + prepare) CPU ${(median(check.cpu) + median(prepare.cpu)).toFixed(2)} s; after (prepare) ${median(prepare.cpu).toFixed(2)} s`,
);
