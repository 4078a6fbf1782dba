/** Batched DynamoDB reads and writes with the unprocessed-items loop AWS requires. */
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';

/** Whether a call failed only because its condition did not hold (the same name from the SDK and the thin transport). */
export const isConditionFailure = (error: unknown) =>
  (error as Error | undefined)?.name === 'ConditionalCheckFailedException';

/** A conditional write's answer: true when it was made, false when only its condition failed (any other error is thrown). */
export async function writeIf(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Every item a query matches, page after page (for the small partitions read whole: never a recipient list). */
export async function queryAll(
  ddb: DynamoDBDocumentClient,
  input: Omit<QueryCommandInput, 'ExclusiveStartKey'>,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await ddb.send(
      new QueryCommand({ ...input, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls after the first that may still return unprocessed requests before a batch loop gives up. */
const MAX_UNPROCESSED_ATTEMPTS = 10;

/**
 * The batch loop DynamoDB requires, for the SDK path here and the thin transport (core/aws/fast/dynamo-rpc.ts):
 * `requests` in groups of `size`, each group sent again with backoff while DynamoDB leaves part of it
 * unprocessed, giving up with `failure` after MAX_UNPROCESSED_ATTEMPTS more calls. `send` sends one
 * group and returns what was left unprocessed.
 */
export async function sendUntilProcessed<T>(
  requests: T[],
  size: number,
  send: (group: T[]) => Promise<T[]>,
  failure: string,
): Promise<void> {
  for (let start = 0; start < requests.length; start += size) {
    let pending = requests.slice(start, start + size);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(Math.min(1000, 20 * 2 ** attempt));
      if (attempt > MAX_UNPROCESSED_ATTEMPTS) throw new Error(failure);
      pending = await send(pending);
    }
  }
}

export async function batchGet(
  ddb: DynamoDBDocumentClient,
  table: string,
  keys: Record<string, unknown>[],
  options: { consistent?: boolean; projection?: { expression: string; names: Record<string, string> } } = {},
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  const extra = {
    ...(options.consistent ? { ConsistentRead: true } : {}),
    ...(options.projection
      ? {
          ProjectionExpression: options.projection.expression,
          ExpressionAttributeNames: options.projection.names,
        }
      : {}),
  };
  await sendUntilProcessed(
    keys,
    100,
    async (pending) => {
      const out = await ddb.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ...extra } } }),
      );
      found.push(...(out.Responses?.[table] ?? []));
      return (out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
    },
    `BatchGet on ${table} kept returning unprocessed keys`,
  );
  return found;
}

type WriteRequest =
  | { PutRequest: { Item: Record<string, unknown> } }
  | { DeleteRequest: { Key: Record<string, unknown> } };

/** Writes in groups of 25, sending unprocessed requests again with backoff until none remain. */
function batchWrite(ddb: DynamoDBDocumentClient, table: string, requests: WriteRequest[]) {
  return sendUntilProcessed(
    requests,
    25,
    async (pending) => {
      const out = await ddb.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      return (out.UnprocessedItems?.[table] as WriteRequest[] | undefined) ?? [];
    },
    `BatchWrite on ${table} kept returning unprocessed items`,
  );
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
