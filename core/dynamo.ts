/** Batched DynamoDB reads and writes with the unprocessed-items loop AWS requires. */
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls after the first that may still return unprocessed requests before a batch loop gives up. */
export const MAX_UNPROCESSED_ATTEMPTS = 10;
/** The wait before sending unprocessed requests again (attempt >= 1). */
export const unprocessedDelayMs = (attempt: number) => Math.min(1000, 20 * 2 ** attempt);

export async function batchGet(
  ddb: DynamoDBDocumentClient,
  table: string,
  keys: Record<string, unknown>[],
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  for (let start = 0; start < keys.length; start += 100) {
    let pending: Record<string, unknown>[] = keys.slice(start, start + 100);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(unprocessedDelayMs(attempt));
      if (attempt > MAX_UNPROCESSED_ATTEMPTS)
        throw new Error(`BatchGet on ${table} kept returning unprocessed keys`);
      const out = await ddb.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending } } }));
      found.push(...(out.Responses?.[table] ?? []));
      pending = (out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
    }
  }
  return found;
}

type WriteRequest =
  | { PutRequest: { Item: Record<string, unknown> } }
  | { DeleteRequest: { Key: Record<string, unknown> } };

/** Writes in groups of 25, sending unprocessed requests again with backoff until none remain. */
async function batchWrite(ddb: DynamoDBDocumentClient, table: string, requests: WriteRequest[]) {
  for (let start = 0; start < requests.length; start += 25) {
    let pending = requests.slice(start, start + 25);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(unprocessedDelayMs(attempt));
      if (attempt > MAX_UNPROCESSED_ATTEMPTS)
        throw new Error(`BatchWrite on ${table} kept returning unprocessed items`);
      const out = await ddb.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = (out.UnprocessedItems?.[table] as WriteRequest[] | undefined) ?? [];
    }
  }
}

export function batchPut(ddb: DynamoDBDocumentClient, table: string, items: Record<string, unknown>[]) {
  return batchWrite(
    ddb,
    table,
    items.map((Item) => ({ PutRequest: { Item } })),
  );
}

export function batchDelete(ddb: DynamoDBDocumentClient, table: string, keys: Record<string, unknown>[]) {
  return batchWrite(
    ddb,
    table,
    keys.map((Key) => ({ DeleteRequest: { Key } })),
  );
}
