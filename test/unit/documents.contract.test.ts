/**
 * The DynamoDocuments seam (core/aws/documents.ts) has two implementations, the SDK's document client and
 * the thin transport (core/aws/fast/rpc-documents.ts); the stores over it (the ledger, the suppression
 * list, the campaign gate's read) must not be able to tell them apart. One suite, run over both on
 * dynalite, each with tables of its own; then what one writes the other reads, and a suppression list's
 * page cursor from one continues in the other. test/unit/dynamo-rpc.contract.test.ts adds the byte-level
 * items, the faults and retries and the signatures.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../core/aws/clients.ts';
import { type DynamoDocuments, SdkDocuments } from '../../core/aws/documents.ts';
import { DynamoRpc } from '../../core/aws/fast/dynamo-rpc.ts';
import { RpcDocuments } from '../../core/aws/fast/rpc-documents.ts';
import { gateViewInput } from '../../core/campaigns/store.ts';
import { DynamoSuppressionList } from '../../core/compliance/suppression.ts';
import { parseConfig } from '../../core/config.ts';
import { DynamoLedger, type LedgerEntry } from '../../core/sending/ledger.ts';
import { createTables, type RunningService, startDynamo } from '../../local/services.ts';

const REGION = 'eu-west-1';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const TRANSPORTS = ['sdk', 'fast'] as const;
type Transport = (typeof TRANSPORTS)[number];
const tablesOf = (t: Transport) => ({
  templates: `tpl-${t}`,
  campaigns: `cmp-${t}`,
  ledger: `ledger-${t}`,
  suppression: `sup-${t}`,
  analytics: `an-${t}`,
});
const clock = () => new Date('2026-12-01T10:00:00.000Z');

let dynalite: RunningService;
const documents = {} as Record<Transport, DynamoDocuments>;
const destroy: (() => unknown)[] = [];

beforeAll(async () => {
  dynalite = await startDynamo(undefined);
  const direct = new DynamoDBClient({ region: REGION, endpoint: dynalite.url, credentials });
  for (const t of TRANSPORTS) await createTables(direct, tablesOf(t));
  direct.destroy();
  // Both exactly as core/app.ts builds them.
  const config = parseConfig({
    region: REGION,
    endpoints: { dynamodb: dynalite.url },
    credentials,
    bucket: 'bucket-d',
    tables: tablesOf('sdk'),
  });
  const { ddb } = createClients(config);
  destroy.push(() => ddb.destroy());
  documents.sdk = new SdkDocuments(ddb);
  documents.fast = new RpcDocuments(new DynamoRpc({ region: REGION, endpoint: dynalite.url, credentials }));
});

afterAll(async () => {
  for (const t of TRANSPORTS) await documents[t]?.close();
  for (const d of destroy) d();
  await dynalite?.close();
});

const ledgerOf = (t: Transport, table = tablesOf(t).ledger) => new DynamoLedger(documents[t], table, clock);
const suppressionOf = (t: Transport, table = tablesOf(t).suppression) =>
  new DynamoSuppressionList(documents[t], table, clock);

/** Entries as the sender records them: sends, failures with and without a reason, any text in keys. */
const entries = fc.uniqueArray(
  fc.record(
    {
      key: fc.oneof(fc.emailAddress(), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 })),
      row: fc.oneof(fc.nat({ max: 1_000_000 }), fc.constant(Number.MAX_SAFE_INTEGER)),
      failed: fc.boolean(),
      messageId: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
      reason: fc.option(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }), { nil: undefined }),
      retryable: fc.option(fc.boolean(), { nil: undefined }),
    },
    { requiredKeys: ['key', 'row', 'failed', 'messageId'] },
  ),
  { selector: (e) => e.key, minLength: 1, maxLength: 40 },
);

function toEntry(e: {
  key: string;
  row: number;
  failed: boolean;
  messageId: string;
  reason?: string | undefined;
  retryable?: boolean | undefined;
}): LedgerEntry {
  return e.failed
    ? {
        key: e.key,
        row: e.row,
        state: 'failed',
        ...(e.reason !== undefined ? { reason: e.reason } : {}),
        ...(e.retryable !== undefined ? { retryable: e.retryable } : {}),
      }
    : { key: e.key, row: e.row, messageId: e.messageId };
}

/** What lookup must return for a recorded entry: the entry, a send's state implied, retryable defaulted. */
function expected(entry: LedgerEntry) {
  return entry.state === 'failed'
    ? { ...entry, retryable: entry.retryable ?? false, at: clock().toISOString() }
    : { key: entry.key, row: entry.row, messageId: entry.messageId, at: clock().toISOString() };
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: Error & { $fault?: string }) => e,
  );

describe.each(TRANSPORTS)('the %s transport behind DynamoDocuments', (t) => {
  it('the ledger finds exactly what it recorded, for any entries (lookup of recorded and unknown keys)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(entries, async (generated) => {
        const campaign = `c-prop-${run++}`;
        const recorded = generated.map(toEntry);
        const ledger = ledgerOf(t);
        await ledger.record(campaign, recorded);
        const keys = [...recorded.map((e) => e.key), 'nobody@example.com', recorded[0]?.key as string];
        const found = await ledger.lookup(campaign, keys);
        expect(found.size).toBe(recorded.length);
        for (const entry of recorded)
          expect(found.get(entry.key)).toEqual({ campaignId: expect.any(String), ...expected(entry) });
      }),
      { numRuns: 15 },
    );
  });

  it('the ledger reads and writes across groups: 260 entries, more than 25 a write and 100 a read', async () => {
    const recorded = Array.from({ length: 260 }, (_, i) => ({
      key: `r${i}@x.example`,
      row: i,
      messageId: `m${i}`,
    }));
    const ledger = ledgerOf(t);
    await ledger.record('c-many', recorded);
    const found = await ledger.lookup(
      'c-many',
      recorded.map((e) => e.key),
    );
    expect(found.size).toBe(260);
    expect(found.get('r259@x.example')).toMatchObject({ row: 259, messageId: 'm259' });
  });

  it('batch leases: taken, refused to another owner, renewed, released only by their owner, free once expired', async () => {
    const ledger = ledgerOf(t);
    const lease = '~batch:1:0';
    expect([
      await ledger.claim('c-lease', lease, 'a', 60_000),
      await ledger.claim('c-lease', lease, 'b', 60_000),
      await ledger.claim('c-lease', lease, 'a', 60_000),
      await ledger.release('c-lease', lease, 'b').then(() => 'released'),
      await ledger.claim('c-lease', lease, 'b', 60_000),
      await ledger.release('c-lease', lease, 'a').then(() => 'released'),
      await ledger.claim('c-lease', lease, 'b', 60_000),
      await ledger.claim('c-lease', '~batch:1:1', 'a', -1),
      await ledger.claim('c-lease', '~batch:1:1', 'b', 60_000),
    ]).toEqual([true, false, true, 'released', false, 'released', true, true, true]);
  });

  it('rate chunks: distinct under concurrent claims, a counter behind the clock moved up, per run', async () => {
    const ledger = ledgerOf(t);
    // A counter nobody has claimed from starts at `from`.
    expect(await ledger.claimRateChunk('c-rate', 1, 1000)).toBe(1000);
    // Concurrent claims, some moving the counter up, some adding: never one chunk twice.
    const concurrent = await Promise.all(
      Array.from({ length: 10 }, (_, i) => ledger.claimRateChunk('c-rate', 1, i % 2 === 0 ? 1000 : 1005)),
    );
    expect(new Set([1000, ...concurrent]).size).toBe(11);
    expect(Math.min(...concurrent)).toBeGreaterThan(1000);
    // Behind the clock: moved up to `from`, not added to; then added to.
    expect(await ledger.claimRateChunk('c-rate', 1, 5000)).toBe(5000);
    expect(await ledger.claimRateChunk('c-rate', 1, 4000)).toBe(5001);
    expect(await ledger.claimRateChunk('c-rate', 2, 7)).toBe(7);
  });

  it('the suppression list: add, get, lookup, search, page with a cursor, remove', async () => {
    const list = suppressionOf(t);
    const addresses = ['a@one.example', 'B@Two.example', 'c@one.example', 'd@three.example', 'e@one.example'];
    for (const address of addresses) await list.add(address, 'manual', 'test');
    expect(await list.get(' B@two.EXAMPLE ')).toEqual({
      key: 'b@two.example',
      reason: 'manual',
      source: 'test',
      at: clock().toISOString(),
    });
    expect(await list.get('nobody@x.example')).toBeUndefined();
    expect([...(await list.lookup(['a@one.example', 'zz@x.example', 'a@one.example']))]).toEqual([
      'a@one.example',
    ]);
    const paged: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await list.list({ limit: 2, cursor });
      expect(page.items.length).toBeLessThanOrEqual(2);
      paged.push(...page.items.map((e) => e.key));
      cursor = page.cursor;
      pages++;
    } while (cursor);
    expect(paged.sort()).toEqual(addresses.map((a) => a.toLowerCase()).sort());
    expect(pages).toBeGreaterThanOrEqual(3);
    const found = await list.list({ search: 'ONE.example', limit: 10 });
    expect(found.items.map((e) => e.key).sort()).toEqual(['a@one.example', 'c@one.example', 'e@one.example']);
    await list.remove('C@one.example');
    expect(await list.get('c@one.example')).toBeUndefined();
    expect((await list.lookup(['c@one.example'])).size).toBe(0);
  });

  it("the gate's read: consistent, only the projected attributes, undefined for no campaign", async () => {
    const table = tablesOf(t).campaigns;
    await documents[t].put({
      TableName: table,
      Item: { id: 'c-gate', status: 'sending', executions: 2, statusReason: 'why', rate: 12.5, tags: ['a'] },
    });
    expect(await documents[t].get(gateViewInput(table, 'c-gate'))).toEqual({
      status: 'sending',
      executions: 2,
      statusReason: 'why',
    });
    expect(await documents[t].get(gateViewInput(table, 'nobody'))).toBeUndefined();
  });

  it('nested items and numbers round-trip; an update without ReturnValues returns nothing', async () => {
    const table = tablesOf(t).campaigns;
    const item = {
      id: 'c-nested',
      progress: { sent: 5, failed: 0 },
      list: [1, 'two', { three: 3 }],
      flag: false,
    };
    await documents[t].put({ TableName: table, Item: { ...item, dropped: undefined } });
    expect(
      await documents[t].get({ TableName: table, Key: { id: 'c-nested' }, ConsistentRead: true }),
    ).toEqual(item);
    const addSent = (n: number, returnValues?: 'ALL_NEW') =>
      documents[t].update({
        TableName: table,
        Key: { id: 'c-nested' },
        UpdateExpression: 'ADD progress.sent :n',
        ExpressionAttributeValues: { ':n': n },
        ...(returnValues ? { ReturnValues: returnValues } : {}),
      });
    expect(await addSent(2)).toBeUndefined();
    expect(await addSent(1, 'ALL_NEW')).toEqual({ ...item, progress: { sent: 8, failed: 0 } });
  });

  it('errors carry the names the SDK gives them: a failed condition, a missing table', async () => {
    const table = tablesOf(t).campaigns;
    const put = {
      TableName: table,
      Item: { id: 'c-cond' },
      ConditionExpression: 'attribute_not_exists(id)',
    };
    await documents[t].put(put);
    const failed = await rejection(documents[t].put(put));
    expect(failed?.name).toBe('ConditionalCheckFailedException');
    expect(failed?.$fault).toBe('client');
    const missing = await rejection(ledgerOf(t, 'no-such-table').lookup('c', ['a@x.example']));
    expect(missing?.name).toBe('ResourceNotFoundException');
    const missingDelete = await rejection(suppressionOf(t, 'no-such-table').remove('a@x.example'));
    expect(missingDelete?.name).toBe('ResourceNotFoundException');
  });
});

describe('the two transports together', () => {
  it('read what the other wrote, in the ledger and the suppression list', async () => {
    const recorded: LedgerEntry[] = [
      { key: 'ada@example.com', row: 2, messageId: 'm-1' },
      { key: 'bad@example.com', row: 3, state: 'failed', reason: 'MessageRejected: no', retryable: false },
    ];
    const table = tablesOf('sdk').ledger;
    await ledgerOf('fast', table).record('c-cross', recorded);
    const bySdk = await ledgerOf('sdk', table).lookup(
      'c-cross',
      recorded.map((e) => e.key),
    );
    const byFast = await ledgerOf('fast', table).lookup(
      'c-cross',
      recorded.map((e) => e.key),
    );
    expect(byFast).toEqual(bySdk);
    expect(bySdk.get('bad@example.com')).toMatchObject({ state: 'failed', reason: 'MessageRejected: no' });
    await suppressionOf('sdk', tablesOf('fast').suppression).add('cross@x.example', 'bounce', 'test');
    expect([...(await suppressionOf('fast').lookup(['cross@x.example']))]).toEqual(['cross@x.example']);
    expect(await suppressionOf('fast').get('cross@x.example')).toEqual(
      await suppressionOf('sdk', tablesOf('fast').suppression).get('cross@x.example'),
    );
  });

  it("continue each other's suppression pages: the cursor is the same text from either", async () => {
    const table = 'sup-cursor';
    const direct = new DynamoDBClient({ region: REGION, endpoint: dynalite.url, credentials });
    await createTables(direct, { suppression: table });
    direct.destroy();
    const sdk = suppressionOf('sdk', table);
    for (let i = 0; i < 7; i++) await sdk.add(`p${i}@x.example`, 'manual', 'test');
    const sdkFirst = await sdk.list({ limit: 3 });
    const fastFirst = await suppressionOf('fast', table).list({ limit: 3 });
    expect(fastFirst).toEqual(sdkFirst);
    const rest = async (list: DynamoSuppressionList, cursor: string | undefined) => {
      const keys: string[] = [];
      while (cursor) {
        const page = await list.list({ limit: 3, cursor });
        keys.push(...page.items.map((e) => e.key));
        cursor = page.cursor;
      }
      return keys;
    };
    const fastAfterSdk = await rest(suppressionOf('fast', table), sdkFirst.cursor);
    expect(fastAfterSdk).toEqual(await rest(sdk, sdkFirst.cursor));
    expect([...sdkFirst.items.map((e) => e.key), ...fastAfterSdk].sort()).toEqual(
      Array.from({ length: 7 }, (_, i) => `p${i}@x.example`),
    );
  });
});
