/**
 * The DynamoDocuments seam (core/aws/documents.ts) over the thin transport (dynamo-rpc.ts): the request's
 * plain items (Key, Item, ExpressionAttributeValues, ExclusiveStartKey) written as DynamoDB JSON text by
 * hand, the answer's items read back as lib-dynamodb returns them, and the batch loops of
 * core/aws/dynamo.ts with the same group sizes and the same unprocessed-requests loop.
 */
import type { Document, DynamoDocuments, ScanPage } from '../documents.ts';
import { sendUntilProcessed } from '../dynamo.ts';
import { type DynamoOperation, type DynamoRpc, type Item, itemText, unmarshallItem } from './dynamo-rpc.ts';

const s = JSON.stringify;

/** The request members that hold items or values, which DynamoDB wants as DynamoDB JSON. */
const MARSHALLED = new Set(['Key', 'Item', 'ExpressionAttributeValues', 'ExclusiveStartKey']);

/** A lib-dynamodb command input as the JSON text of the low-level request; undefined members left out. */
function requestText(input: object): string {
  let out = '';
  for (const [name, value] of Object.entries(input)) {
    if (value === undefined) continue;
    const text = MARSHALLED.has(name) ? itemText(value as Document) : s(value);
    out += out === '' ? `${s(name)}:${text}` : `,${s(name)}:${text}`;
  }
  return `{${out}}`;
}

interface ItemOutput {
  Item?: Item;
  Attributes?: Item;
  Items?: Item[];
  LastEvaluatedKey?: Item;
}
interface BatchGetOutput {
  Responses?: Record<string, Item[]>;
  UnprocessedKeys?: Record<string, { Keys?: Item[] }>;
}
interface BatchWriteOutput {
  UnprocessedItems?: Record<string, unknown[]>;
}

export class RpcDocuments implements DynamoDocuments {
  constructor(private readonly rpc: DynamoRpc) {}

  private call(operation: DynamoOperation, input: object): Promise<ItemOutput> {
    return this.rpc.call<ItemOutput>(operation, requestText(input));
  }

  async get(input: object): Promise<Document | undefined> {
    const out = await this.call('GetItem', input);
    return out.Item ? unmarshallItem(out.Item) : undefined;
  }

  async put(input: object): Promise<void> {
    await this.call('PutItem', input);
  }

  async update(input: object): Promise<Document | undefined> {
    const out = await this.call('UpdateItem', input);
    return out.Attributes ? unmarshallItem(out.Attributes) : undefined;
  }

  async delete(input: object): Promise<void> {
    await this.call('DeleteItem', input);
  }

  async scan(input: object): Promise<ScanPage> {
    const out = await this.call('Scan', input);
    return {
      items: (out.Items ?? []).map(unmarshallItem),
      lastKey: out.LastEvaluatedKey ? unmarshallItem(out.LastEvaluatedKey) : undefined,
    };
  }

  async batchGet(table: string, keys: Document[]): Promise<Document[]> {
    const found: Document[] = [];
    const name = s(table);
    await sendUntilProcessed(
      keys.map(itemText),
      100,
      async (pending) => {
        const out = await this.rpc.call<BatchGetOutput>(
          'BatchGetItem',
          `{"RequestItems":{${name}:{"Keys":[${pending.join(',')}]}}}`,
        );
        const items = out.Responses?.[table];
        if (items) for (const item of items) found.push(unmarshallItem(item));
        return (out.UnprocessedKeys?.[table]?.Keys ?? []).map((key) => s(key));
      },
      `BatchGet on ${table} kept returning unprocessed keys`,
    );
    return found;
  }

  batchPut(table: string, items: Document[]): Promise<void> {
    const name = s(table);
    return sendUntilProcessed(
      items.map((item) => `{"PutRequest":{"Item":${itemText(item)}}}`),
      25,
      async (pending) => {
        const out = await this.rpc.call<BatchWriteOutput>(
          'BatchWriteItem',
          `{"RequestItems":{${name}:[${pending.join(',')}]}}`,
        );
        return (out.UnprocessedItems?.[table] ?? []).map((request) => s(request));
      },
      `BatchWrite on ${table} kept returning unprocessed items`,
    );
  }

  close(): Promise<void> {
    return this.rpc.close();
  }
}
