/**
 * CPU per signature, core/aws/fast/sigv4.ts against the SDK's @smithy/signature-v4 (which caches its
 * signing key too, since 5.x), with node:crypto hashes for both (test/support/node-sha256.ts, the
 * shape of the SDK's Node hash), on a SendEmail of each benchmark size and a DynamoDB batch. Alternating
 * rounds; median round. `npx tsx bench/sigv4-micro.ts [rounds] [n]`
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { SigV4Signer } from '../core/aws/fast/sigv4.ts';
import { NodeSha256 } from '../test/support/node-sha256.ts';

const ROUNDS = Number(process.argv[2] ?? 7);
const N = Number(process.argv[3] ?? 3000);
const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const ours = new SigV4Signer({ service: 'ses', region: 'eu-west-1', credentials });
const theirs = new SignatureV4({ service: 'ses', region: 'eu-west-1', credentials, sha256: NodeSha256 });
const host = 'email.eu-west-1.amazonaws.com';
const path = '/v2/email/outbound-emails';

for (const [label, bytes] of [
  ['DynamoDB batch, 2 KB', 2_000],
  ['SendEmail, 3 KB template (4.6 KB body)', 4_600],
  ['SendEmail, 100 KB template (120 KB body)', 120_000],
] as const) {
  const body = Buffer.alloc(bytes, 'a');
  const headers = { 'content-type': 'application/json', 'content-length': String(bytes) };
  const variants: Record<string, () => Promise<unknown>> = {
    'core/aws/fast/sigv4.ts': () => ours.sign({ host, path, headers, body }),
    '@smithy/signature-v4': () =>
      theirs.sign({
        method: 'POST',
        protocol: 'https:',
        hostname: host,
        path,
        query: {},
        headers: { ...headers, host },
        body,
      }),
  };
  const samples: Record<string, number[]> = {};
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [name, fn] of Object.entries(variants)) {
      const t0 = process.cpuUsage();
      for (let i = 0; i < N; i++) await fn();
      const c = process.cpuUsage(t0);
      if (round === 0) continue;
      samples[name] ??= [];
      samples[name].push((c.user + c.system) / N);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const a = median(samples['core/aws/fast/sigv4.ts'] as number[]);
  const b = median(samples['@smithy/signature-v4'] as number[]);
  console.log(
    `${label}: ours ${a.toFixed(1)} us, smithy ${b.toFixed(1)} us per signature (ours/smithy ${(a / b).toFixed(2)}, saving ${(b - a).toFixed(1)} us)`,
  );
}
