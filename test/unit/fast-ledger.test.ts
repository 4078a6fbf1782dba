/**
 * The in-memory ledger front of the local stack: the core's DynamoLedger reads back what it wrote, other
 * tables still reach dynalite, an empty table's batch read is answered without it, and anything the front
 * does not reproduce on the ledger table fails loudly.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FastLedgerFront } from '../../bench/fast-ledger.ts';
import { SdkDocuments } from '../../core/aws/documents.ts';
import { TABLES } from '../../core/aws/tables.ts';
import { DynamoLedger, ledgerPartition } from '../../core/sending/ledger.ts';
import { createTables, type RunningService, startDynamo } from '../../local/services.ts';

const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
const names = {
  templates: 'tpl-t',
  campaigns: 'cmp-t',
  ledger: 'ledger-t',
  suppression: 'sup-t',
  analytics: 'an-t',
};
let dynalite: RunningService;
let front: FastLedgerFront;
let raw: DynamoDBClient;
let ddb: DynamoDBDocumentClient;

beforeAll(async () => {
  dynalite = await startDynamo(undefined);
  const direct = new DynamoDBClient({ region: 'us-east-1', endpoint: dynalite.url, credentials });
  await createTables(direct, names);
  direct.destroy();
  front = new FastLedgerFront({
    upstream: dynalite.url,
    table: names.ledger,
    partitionKey: TABLES.ledger.partitionKey,
    sortKey: TABLES.ledger.sortKey.name,
  });
  await front.start();
  raw = new DynamoDBClient({ region: 'us-east-1', endpoint: front.url, credentials });
  ddb = DynamoDBDocumentClient.from(raw);
});

afterAll(async () => {
  raw.destroy();
  await front.close();
  await dynalite.close();
});

describe('FastLedgerFront', () => {
  it('keeps what DynamoLedger records and finds it again, per campaign, across more than one batch', async () => {
    const ledger = new DynamoLedger(new SdkDocuments(ddb), names.ledger);
    const entries = Array.from({ length: 130 }, (_, i) => ({
      key: `r${i}@example.com`,
      messageId: `m-${i}`,
      row: i + 2,
    }));
    await ledger.record('c1', entries);
    const found = await ledger.lookup('c1', [...entries.map((e) => e.key), 'nobody@example.com']);
    expect(found.size).toBe(130);
    expect(found.get('r129@example.com')).toMatchObject({ messageId: 'm-129', row: 131 });
    expect((await ledger.lookup('c2', ['r1@example.com'])).size).toBe(0);
    expect(front.stats.writes).toBeGreaterThanOrEqual(130);
  });

  it('passes other tables through to dynalite', async () => {
    await ddb.send(new PutCommand({ TableName: names.campaigns, Item: { id: 'c1', status: 'sending' } }));
    const out = await raw.send(new GetItemCommand({ TableName: names.campaigns, Key: { id: { S: 'c1' } } }));
    expect(out.Item?.status?.S).toBe('sending');
  });

  it('answers a batch read of a table nobody wrote to, and reads through once someone has', async () => {
    const read = () =>
      ddb.send(
        new BatchGetCommand({ RequestItems: { [names.suppression]: { Keys: [{ key: 'a@example.com' }] } } }),
      );
    const before = front.stats.emptyReads;
    expect((await read()).Responses?.[names.suppression]).toEqual([]);
    expect(front.stats.emptyReads).toBe(before + 1);
    await ddb.send(
      new PutCommand({ TableName: names.suppression, Item: { key: 'a@example.com', reason: 'bounce' } }),
    );
    expect((await read()).Responses?.[names.suppression]).toEqual([
      { key: 'a@example.com', reason: 'bounce' },
    ]);
  });

  it('leaves single-item operations (leases) to dynalite, and refuses to mix the two stores', async () => {
    const lease = { campaignId: 'c1', key: '~batch:1:0' };
    await ddb.send(new PutCommand({ TableName: names.ledger, Item: { ...lease, owner: 'a' } }));
    const out = await raw.send(
      new GetItemCommand({
        TableName: names.ledger,
        Key: { campaignId: { S: 'c1' }, key: { S: '~batch:1:0' } },
      }),
    );
    expect(out.Item?.owner?.S).toBe('a');
    const mixed = await ddb
      .send(new BatchGetCommand({ RequestItems: { [names.ledger]: { Keys: [lease] } } }))
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(mixed?.name).toBe('ValidationException');
  });

  it('refuses a single-item read of what the batch operations wrote, and queries', async () => {
    const error = await raw
      .send(
        new GetItemCommand({
          TableName: names.ledger,
          Key: { campaignId: { S: ledgerPartition('c1', 'r1@example.com') }, key: { S: 'r1@example.com' } },
        }),
      )
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(error?.name).toBe('ValidationException');
    expect(error?.message).toContain('GetItem on a key the batch operations wrote');
  });
});
