/**
 * The contract between the thin DynamoDB transport (core/aws/fast/dynamo-rpc.ts) and the SDK path it replaces, on a
 * real dynalite: the fast ledger and the SDK ledger write the same items and read each other's, unprocessed
 * keys and items are sent again, service errors come back with the SDK's names and retries, and every
 * request carries a signature a server recomputing it (with the SDK's own signer) accepts.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';
import { request as undiciRequest } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClients } from '../../core/aws/clients.ts';
import { SdkDocuments } from '../../core/aws/documents.ts';
import { DynamoRpc, itemText, unmarshallItem } from '../../core/aws/fast/dynamo-rpc.ts';
import { RpcDocuments } from '../../core/aws/fast/rpc-documents.ts';
import { CampaignStore } from '../../core/campaigns/store.ts';
import { DynamoSuppressionList } from '../../core/compliance/suppression.ts';
import { parseConfig } from '../../core/config.ts';
import { DynamoLedger, type LedgerEntry, ledgerPartition } from '../../core/sending/ledger.ts';
import { createTables, type RunningService, startDynamo } from '../../local/services.ts';
import { NodeSha256 } from '../support/node-sha256.ts';

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const REGION = 'eu-west-1';
const names = {
  templates: 'tpl-r',
  campaigns: 'cmp-r',
  ledger: 'ledger-r',
  suppression: 'sup-r',
  analytics: 'an-r',
};

/** What the proxy does to the next request of an operation instead of passing it through unchanged. */
type Fault =
  | { op: string; kind: 'partial' }
  | { op: string; kind: 'error'; status: number; type: string; message?: string };

interface Seen {
  target: string;
  signatureValid: boolean;
  body: Buffer;
  headers: IncomingMessage['headers'];
}

/**
 * A proxy in front of dynalite that verifies each request's SigV4 signature (recomputed with
 * @smithy/signature-v4 over exactly the signed headers), records it, and injects faults on request:
 * half a batch left unprocessed, or an error answer.
 */
class FaultyProxy {
  server: Server | undefined;
  url = '';
  readonly seen: Seen[] = [];
  faults: Fault[] = [];
  constructor(private readonly upstream: string) {}

  async start() {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const body = Buffer.concat(chunks);
        const target = String(req.headers['x-amz-target'] ?? '');
        const op = target.split('.')[1] ?? '';
        this.seen.push({ target, body, headers: req.headers, signatureValid: await verify(req, body) });
        const index = this.faults.findIndex((f) => f.op === op);
        const fault = index >= 0 ? this.faults.splice(index, 1)[0] : undefined;
        if (fault?.kind === 'error') {
          res.writeHead(fault.status, { 'content-type': 'application/x-amz-json-1.0' });
          res.end(JSON.stringify({ __type: fault.type, message: fault.message ?? fault.type }));
          return;
        }
        let forward = body;
        let leftOver: unknown[] = [];
        let table = '';
        if (fault?.kind === 'partial') {
          const input = JSON.parse(body.toString()) as { RequestItems: Record<string, unknown> };
          table = Object.keys(input.RequestItems)[0] as string;
          if (op === 'BatchWriteItem') {
            const all = input.RequestItems[table] as unknown[];
            leftOver = all.slice(Math.ceil(all.length / 2));
            input.RequestItems[table] = all.slice(0, Math.ceil(all.length / 2));
          } else {
            const all = (input.RequestItems[table] as { Keys: unknown[] }).Keys;
            leftOver = all.slice(Math.ceil(all.length / 2));
            (input.RequestItems[table] as { Keys: unknown[] }).Keys = all.slice(0, Math.ceil(all.length / 2));
          }
          forward = Buffer.from(JSON.stringify(input));
        }
        const { host: _h, 'content-length': _l, connection: _c, ...headers } = req.headers;
        const answer = await undiciRequest(this.upstream, {
          method: 'POST',
          headers: headers as Record<string, string>,
          body: forward,
        });
        let text = await answer.body.text();
        if (fault?.kind === 'partial') {
          const out = JSON.parse(text) as Record<string, unknown>;
          if (op === 'BatchWriteItem') out.UnprocessedItems = { [table]: leftOver };
          else out.UnprocessedKeys = { [table]: { Keys: leftOver } };
          text = JSON.stringify(out);
        }
        res.writeHead(answer.statusCode, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(text);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  close() {
    this.server?.closeAllConnections();
    return new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/** Recomputes a request's signature with the SDK's signer, as DynamoDB would, from what arrived. */
async function verify(req: IncomingMessage, body: Buffer): Promise<boolean> {
  const auth = String(req.headers.authorization ?? '');
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!match) return false;
  const [, accessKeyId, , region, service, signedHeaders, signature] = match as unknown as string[];
  if (accessKeyId !== credentials.accessKeyId) return false;
  // The signature covers the body through this header: it must be the body's hash.
  if (req.headers['x-amz-content-sha256'] !== createHash('sha256').update(body).digest('hex')) return false;
  const headers: Record<string, string> = {};
  for (const name of (signedHeaders as string).split(';')) headers[name] = String(req.headers[name] ?? '');
  // The headers a DynamoDB request must sign.
  for (const required of ['host', 'x-amz-date', 'x-amz-target', 'content-type'])
    if (!(required in headers)) return false;
  const date = headers['x-amz-date'] as string;
  const signingDate = new Date(
    `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
  );
  const signer = new SignatureV4({
    service: service as string,
    region: region as string,
    credentials,
    sha256: NodeSha256,
  });
  const signed = await signer.sign(
    {
      method: req.method ?? 'POST',
      protocol: 'http:',
      hostname: (headers.host as string).split(':')[0] as string,
      path: req.url ?? '/',
      query: {},
      headers,
      body,
    },
    { signingDate },
  );
  return String(signed.headers.authorization).endsWith(`Signature=${signature}`);
}

let dynalite: RunningService;
let proxy: FaultyProxy;
let sdkDdb: DynamoDBDocumentClient;
let raw: DynamoDBClient;
let rpc: DynamoRpc;
let sdkDocuments: SdkDocuments;
let fastDocuments: RpcDocuments;
const clock = () => new Date('2026-11-25T12:00:00.000Z');
let sdkLedger: DynamoLedger;
let fastLedger: DynamoLedger;

beforeAll(async () => {
  dynalite = await startDynamo(undefined);
  const direct = new DynamoDBClient({ region: REGION, endpoint: dynalite.url, credentials });
  await createTables(direct, names);
  direct.destroy();
  proxy = new FaultyProxy(dynalite.url);
  await proxy.start();
  // The SDK path exactly as the app builds it (removeUndefinedValues and all).
  const config = parseConfig({
    region: REGION,
    endpoints: { dynamodb: proxy.url },
    credentials,
    bucket: 'bucket-r',
    tables: names,
  });
  sdkDdb = createClients(config).ddb;
  raw = new DynamoDBClient({ region: REGION, endpoint: dynalite.url, credentials });
  rpc = new DynamoRpc({ region: REGION, endpoint: proxy.url, credentials, random: () => 0 });
  sdkDocuments = new SdkDocuments(sdkDdb);
  fastDocuments = new RpcDocuments(rpc);
  sdkLedger = new DynamoLedger(sdkDocuments, names.ledger, clock);
  fastLedger = new DynamoLedger(fastDocuments, names.ledger, clock);
});

afterAll(async () => {
  await rpc.close();
  sdkDdb.destroy();
  raw.destroy();
  await proxy.close();
  await dynalite.close();
});

beforeEach(() => {
  proxy.faults = [];
});

const ENTRIES: LedgerEntry[] = [
  { key: 'ada@example.com', row: 2, messageId: 'm-0001' },
  { key: 'Grâce+tag@exämple.com', row: 3, state: 'sent', messageId: '0100018f-"quoted"\\-é' },
  {
    key: 'bad@example.com',
    row: 4,
    state: 'failed',
    reason: 'MessageRejected: Email address is not verified.',
    retryable: false,
  },
  {
    key: 'slow@example.com',
    row: 5,
    state: 'failed',
    reason: 'Throttling: Maximum sending rate exceeded',
    retryable: true,
  },
  // A failure recorded without a reason or a retryable flag (undefined attributes are left out).
  { key: 'odd@example.com', row: 9_007_199_254_740_991, state: 'failed' },
  { key: 'nomessage@example.com', row: 0 },
];

/** Many entries: more than one BatchWrite group of 25 and more than one BatchGet of 100. */
const many = (n: number): LedgerEntry[] =>
  Array.from({ length: n }, (_, i) =>
    i % 7 === 3
      ? {
          key: `r${i}@example.com`,
          row: i + 2,
          state: 'failed',
          reason: `Bounce ${i}`,
          retryable: i % 2 === 0,
        }
      : { key: `r${i}@example.com`, row: i + 2, messageId: `m-${i}` },
  );

async function rawItem(campaignId: string, key: string) {
  const out = await raw.send(
    new GetItemCommand({
      TableName: names.ledger,
      Key: { campaignId: { S: ledgerPartition(campaignId, key) }, key: { S: key } },
    }),
  );
  const { campaignId: _c, ...rest } = out.Item ?? {};
  return rest;
}

describe('the fast ledger and the SDK ledger', () => {
  it('write byte-identical items (same attributes, same types) for the same entries', async () => {
    await sdkLedger.record('c-sdk', ENTRIES);
    await fastLedger.record('c-fast', ENTRIES);
    for (const entry of ENTRIES) {
      const written = await rawItem('c-fast', entry.key);
      expect(written).toEqual(await rawItem('c-sdk', entry.key));
      expect(written.key).toEqual({ S: entry.key });
    }
    expect(await rawItem('c-fast', 'odd@example.com')).toEqual({
      key: { S: 'odd@example.com' },
      row: { N: '9007199254740991' },
      state: { S: 'failed' },
      retryable: { BOOL: false },
      at: { S: '2026-11-25T12:00:00.000Z' },
    });
  });

  it('read what the other wrote, identically, both ways', async () => {
    const keys = [...ENTRIES.map((e) => e.key), 'nobody@example.com'];
    const sdkReadsFast = await sdkLedger.lookup('c-fast', keys);
    const fastReadsSdk = await fastLedger.lookup('c-sdk', keys);
    const fastReadsFast = await fastLedger.lookup('c-fast', keys);
    expect(fastReadsSdk.size).toBe(ENTRIES.length);
    for (const entry of ENTRIES) {
      const { campaignId: _a, ...fromSdk } = sdkReadsFast.get(entry.key) as unknown as Record<
        string,
        unknown
      >;
      const { campaignId: _b, ...fromFast } = fastReadsSdk.get(entry.key) as unknown as Record<
        string,
        unknown
      >;
      expect(fromFast).toEqual(fromSdk);
      expect(fastReadsFast.get(entry.key)).toEqual(sdkReadsFast.get(entry.key));
      // What was recorded comes back (a send's state is implied, so not stored).
      const { state, ...rest } = entry;
      expect(fromFast).toMatchObject({
        ...rest,
        ...(state === 'failed' ? { state } : {}),
        at: '2026-11-25T12:00:00.000Z',
      });
    }
    expect(fastReadsSdk.get('slow@example.com')).toMatchObject({
      retryable: true,
      reason: expect.any(String),
    });
    expect(typeof fastReadsSdk.get('odd@example.com')?.row).toBe('number');
  });

  it('agree across several groups and lookups of more than 100 keys', async () => {
    const entries = many(260);
    await fastLedger.record('c-many-fast', entries);
    await sdkLedger.record('c-many-sdk', entries);
    const keys = entries.map((e) => e.key);
    const a = await sdkLedger.lookup('c-many-fast', keys);
    const b = await fastLedger.lookup('c-many-sdk', keys);
    expect(a.size).toBe(260);
    expect(b.size).toBe(260);
    for (const key of keys) {
      const { campaignId: _a, ...x } = a.get(key) as unknown as Record<string, unknown>;
      const { campaignId: _b, ...y } = b.get(key) as unknown as Record<string, unknown>;
      expect(y).toEqual(x);
    }
    const writes = proxy.seen.filter((s) => s.target.endsWith('BatchWriteItem')).slice(-22);
    expect(writes.every((w) => JSON.parse(w.body.toString()).RequestItems[names.ledger].length <= 25)).toBe(
      true,
    );
  });

  it('send unprocessed items and keys again until none is left', async () => {
    const entries = many(30).map((e) => ({ ...e, key: `u-${e.key}` }));
    proxy.faults = [
      { op: 'BatchWriteItem', kind: 'partial' },
      { op: 'BatchWriteItem', kind: 'partial' },
    ];
    const before = proxy.seen.length;
    await fastLedger.record('c-unprocessed', entries);
    expect(proxy.faults).toEqual([]);
    // 25 -> 13 + 12 unprocessed -> 6 + 6 unprocessed -> 6; then the group of 5.
    expect(proxy.seen.length - before).toBe(4);
    const found = await sdkLedger.lookup(
      'c-unprocessed',
      entries.map((e) => e.key),
    );
    expect(found.size).toBe(30);
    proxy.faults = [{ op: 'BatchGetItem', kind: 'partial' }];
    const again = await fastLedger.lookup(
      'c-unprocessed',
      entries.map((e) => e.key),
    );
    expect(proxy.faults).toEqual([]);
    expect(again.size).toBe(30);
  });

  it('take and release batch leases alike (conditional puts and deletes)', async () => {
    const steps = async (ledger: DynamoLedger, campaign: string) => [
      await ledger.claim(campaign, '~batch:1:0', 'a', 60_000),
      await ledger.claim(campaign, '~batch:1:0', 'b', 60_000),
      await ledger.claim(campaign, '~batch:1:0', 'a', 60_000),
      await ledger.release(campaign, '~batch:1:0', 'b').then(() => 'released'),
      await ledger.claim(campaign, '~batch:1:0', 'b', 60_000),
      await ledger.release(campaign, '~batch:1:0', 'a').then(() => 'released'),
      await ledger.claim(campaign, '~batch:1:0', 'b', 60_000),
      // Expired: anyone may take it.
      await ledger.claim(campaign, '~batch:1:1', 'a', -1),
      await ledger.claim(campaign, '~batch:1:1', 'b', 60_000),
    ];
    const sdk = await steps(sdkLedger, 'c-lease-sdk');
    const fast = await steps(fastLedger, 'c-lease-fast');
    expect(fast).toEqual(sdk);
    expect(fast).toEqual([true, false, true, 'released', false, 'released', true, true, true]);
    expect(await rawItem('c-lease-fast', '~batch:1:1')).toEqual(await rawItem('c-lease-sdk', '~batch:1:1'));
  });

  it("claim the campaign-wide rate's chunks alike: distinct under concurrency, moved up when behind", async () => {
    const steps = async (ledger: DynamoLedger, campaign: string) => {
      // A counter nobody has claimed from yet starts at `from`.
      const first = await ledger.claimRateChunk(campaign, 1, 1000);
      // Concurrent claims each get a chunk of their own: the moves up and the adds never hand one out twice.
      const concurrent = await Promise.all(
        Array.from({ length: 12 }, (_, i) => ledger.claimRateChunk(campaign, 1, i % 2 === 0 ? 1000 : 1005)),
      );
      // Behind the clock: moved up to `from`, not added to.
      const movedUp = await ledger.claimRateChunk(campaign, 1, 5000);
      const next = await ledger.claimRateChunk(campaign, 1, 4000);
      const otherRun = await ledger.claimRateChunk(campaign, 2, 7);
      return {
        first,
        distinct: new Set([first, ...concurrent]).size,
        min: Math.min(...concurrent),
        movedUp,
        next,
        otherRun,
      };
    };
    const sdk = await steps(sdkLedger, 'c-rate-sdk');
    const fast = await steps(fastLedger, 'c-rate-fast');
    expect(fast.distinct).toBe(13);
    expect(sdk.distinct).toBe(13);
    for (const result of [sdk, fast]) {
      expect(result).toMatchObject({ first: 1000, movedUp: 5000, next: 5001, otherRun: 7 });
      expect(result.min).toBeGreaterThan(1000);
    }
    expect(await rawItem('c-rate-fast', '~rate:1')).toMatchObject({ next: { N: '5002' } });
    expect(await rawItem('c-rate-sdk', '~rate:1')).toMatchObject({ next: { N: '5002' } });
  });

  it("the campaign gate's read returns the record CampaignStore.find returns (nested maps, lists, numbers)", async () => {
    const record = {
      id: 'c-gate',
      status: 'sending',
      executions: 2,
      rate: 12.5,
      progress: { sent: 5, failed: 1 },
      tags: ['a', 'b'],
      data: { plan: { name: 'pro', seats: 3 }, empty: '' },
      paused: false,
    };
    await sdkDdb.send(new PutCommand({ TableName: names.campaigns, Item: record }));
    const store = new CampaignStore(sdkDdb, names.campaigns);
    const theirs = await store.find('c-gate');
    const gateRead = (id: string) =>
      fastDocuments.get({ TableName: names.campaigns, Key: { id }, ConsistentRead: true });
    const ours = await gateRead('c-gate');
    expect(ours).toEqual(theirs);
    expect(ours).toEqual(record);
    expect(await gateRead('nobody')).toBe(await store.find('nobody'));
    const request = proxy.seen.at(-1) as Seen;
    expect(JSON.parse(request.body.toString())).toMatchObject({
      ConsistentRead: true,
      Key: { id: { S: 'nobody' } },
    });
  });

  it('the suppression lookup finds the same addresses', async () => {
    await sdkDdb.send(
      new PutCommand({
        TableName: names.suppression,
        Item: { key: 'gone@example.com', reason: 'bounce', source: 'test', at: 'x' },
      }),
    );
    const keys = ['gone@example.com', 'here@example.com', 'gone@example.com'];
    const sdk = await new DynamoSuppressionList(sdkDocuments, names.suppression).lookup(keys);
    const fast = await new DynamoSuppressionList(fastDocuments, names.suppression, clock).lookup(keys);
    expect([...fast]).toEqual([...sdk]);
    expect([...fast]).toEqual(['gone@example.com']);
  });
});

describe('errors and retries', () => {
  const sdkError = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: Error & { $fault?: string; $metadata?: { httpStatusCode?: number; attempts?: number } }) => e,
    );

  it('a failed condition is a ConditionalCheckFailedException, as from the SDK', async () => {
    const put = {
      TableName: names.ledger,
      Item: { campaignId: 'c-cond', key: '~batch:1:0', owner: 'a' },
      ConditionExpression: 'attribute_not_exists(#key)',
      ExpressionAttributeNames: { '#key': 'key' },
    };
    await sdkDdb.send(new PutCommand(put));
    const theirs = await sdkError(sdkDdb.send(new PutCommand(put)));
    const ours = await sdkError(rpc.call('PutItem', { ...put, Item: JSON.parse(itemText(put.Item)) }));
    expect(theirs?.name).toBe('ConditionalCheckFailedException');
    expect(ours?.name).toBe(theirs?.name);
    expect(ours?.$fault).toBe(theirs?.$fault);
    expect(ours?.$metadata?.httpStatusCode).toBe(theirs?.$metadata?.httpStatusCode);
    expect(ours?.$metadata?.attempts).toBe(1);
  });

  it('validation and missing-table errors carry the SDK names', async () => {
    const tooMany = Array.from({ length: 101 }, (_, i) => ({ campaignId: 'c', key: `k${i}` }));
    const theirs = await sdkError(
      sdkDdb.send(
        new (await import('@aws-sdk/lib-dynamodb')).BatchGetCommand({
          RequestItems: { [names.ledger]: { Keys: tooMany } },
        }),
      ),
    );
    const ours = await sdkError(
      rpc.call(
        'BatchGetItem',
        `{"RequestItems":{"${names.ledger}":{"Keys":[${tooMany.map((k) => itemText(k)).join(',')}]}}}`,
      ),
    );
    expect(theirs?.name).toBe('ValidationException');
    expect(ours?.name).toBe(theirs?.name);
    expect(ours?.message).toBe(theirs?.message);
    const missingSdk = await sdkError(new DynamoLedger(sdkDocuments, 'no-such-table').lookup('c', ['a']));
    const missingFast = await sdkError(
      new DynamoLedger(fastDocuments, 'no-such-table', clock).lookup('c', ['a']),
    );
    expect(missingSdk?.name).toBe('ResourceNotFoundException');
    expect(missingFast?.name).toBe(missingSdk?.name);
    expect(missingFast?.$fault).toBe('client');
  });

  it('throttling and 5xx are retried as the SDK retries them: through a blip, and up to its attempts', async () => {
    proxy.faults = [
      {
        op: 'BatchGetItem',
        kind: 'error',
        status: 400,
        type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
      },
      { op: 'BatchGetItem', kind: 'error', status: 500, type: 'InternalServerError' },
    ];
    expect((await fastLedger.lookup('c-fast', ['ada@example.com'])).size).toBe(1);
    expect(proxy.faults).toEqual([]);

    const fiveHundreds = (): Fault[] =>
      Array.from({ length: 6 }, () => ({
        op: 'BatchGetItem',
        kind: 'error',
        status: 500,
        type: 'InternalServerError',
      }));
    proxy.faults = fiveHundreds();
    const theirs = await sdkError(sdkLedger.lookup('c-fast', ['ada@example.com']));
    const sdkLeft = proxy.faults.length;
    proxy.faults = fiveHundreds();
    const ours = await sdkError(fastLedger.lookup('c-fast', ['ada@example.com']));
    expect(theirs?.name).toBe('InternalServerError');
    expect(ours?.name).toBe(theirs?.name);
    expect(ours?.$fault).toBe('server');
    expect(ours?.$metadata?.attempts).toBe(theirs?.$metadata?.attempts);
    expect(proxy.faults.length).toBe(sdkLeft);

    // A client error other than throttling is not retried.
    proxy.faults = [
      {
        op: 'BatchGetItem',
        kind: 'error',
        status: 400,
        type: 'com.amazon.coral.validate#ValidationException',
      },
      {
        op: 'BatchGetItem',
        kind: 'error',
        status: 400,
        type: 'com.amazon.coral.validate#ValidationException',
      },
    ];
    const rejected = await sdkError(fastLedger.lookup('c-fast', ['ada@example.com']));
    expect(rejected?.name).toBe('ValidationException');
    expect(proxy.faults.length).toBe(1);
  });
});

describe('signing', () => {
  it('every request the fast path made carries a signature the SDK signer recomputes', async () => {
    const fast = proxy.seen.filter((s) => !String(s.headers['user-agent'] ?? '').includes('aws-sdk'));
    const sdk = proxy.seen.filter((s) => String(s.headers['user-agent'] ?? '').includes('aws-sdk'));
    expect(fast.length).toBeGreaterThan(10);
    expect(sdk.length).toBeGreaterThan(10);
    expect(fast.every((s) => s.signatureValid)).toBe(true);
    // The verifier itself accepts the SDK's requests, and refuses a request whose body was changed.
    expect(sdk.every((s) => s.signatureValid)).toBe(true);
    const sample = fast[0] as Seen;
    expect(sample.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(sample.headers['x-amz-target']).toMatch(/^DynamoDB_20120810\./);
    const tampered = { ...sample, body: Buffer.concat([sample.body, Buffer.from(' ')]) };
    expect(
      await verify({ method: 'POST', url: '/', headers: tampered.headers } as IncomingMessage, tampered.body),
    ).toBe(false);
    expect(
      await verify({ method: 'POST', url: '/', headers: sample.headers } as IncomingMessage, sample.body),
    ).toBe(true);
  });

  it('unmarshalls numbers beyond the safe range as the SDK does (an error, not a silent rounding)', () => {
    expect(unmarshallItem({ n: { N: '12.5' }, s: { S: '' }, b: { BOOL: false }, z: { NULL: true } })).toEqual(
      {
        n: 12.5,
        s: '',
        b: false,
        z: null,
      },
    );
    expect(() => unmarshallItem({ n: { N: '123456789012345678901234567890.5' } })).toThrow();
  });
});
