/**
 * The one seam between the sender's tables and DynamoDB: the calls the ledger (core/sending/ledger.ts),
 * the suppression list (core/compliance/suppression.ts) and the campaign gate's read make, with plain
 * items in and out as lib-dynamodb takes and returns them. Two implementations: SdkDocuments here (the
 * SDK's document client) and RpcDocuments (core/aws/fast/rpc-documents.ts, the thin transport), chosen
 * once in core/app.ts from `dynamoTransport`. test/unit/documents.contract.test.ts runs both through one
 * suite, so the stores above cannot tell which one they were given.
 */
import {
  DeleteCommand,
  type DeleteCommandInput,
  type DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  PutCommand,
  type PutCommandInput,
  ScanCommand,
  type ScanCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { batchGet, batchPut } from './dynamo.ts';

/** An item (or key) as lib-dynamodb holds it: numbers as numbers, maps as objects. */
export type Document = Record<string, unknown>;

export interface ScanPage {
  items: Document[];
  /** Where the next page starts (ExclusiveStartKey); undefined after the last. */
  lastKey: Document | undefined;
}

export interface DynamoDocuments {
  /** GetItem: the item, or undefined. */
  get(input: GetCommandInput): Promise<Document | undefined>;
  /** PutItem; a failed condition rejects with ConditionalCheckFailedException, as the SDK does. */
  put(input: PutCommandInput): Promise<void>;
  /** UpdateItem: the attributes its ReturnValues asks for (undefined for none). */
  update(input: UpdateCommandInput): Promise<Document | undefined>;
  /** DeleteItem; a failed condition rejects with ConditionalCheckFailedException. */
  delete(input: DeleteCommandInput): Promise<void>;
  /** One Scan call (one page). */
  scan(input: ScanCommandInput): Promise<ScanPage>;
  /** BatchGetItem of any number of keys, 100 a call, unprocessed keys asked again: the items found. */
  batchGet(table: string, keys: Document[]): Promise<Document[]>;
  /** BatchWriteItem puts of any number of items, 25 a call, unprocessed items sent again. */
  batchPut(table: string, items: Document[]): Promise<void>;
  /** Lets go of what the implementation holds of its own (connections); the SDK client is the app's. */
  close(): Promise<void>;
}

/** Over the app's document client (core/aws/clients.ts: removeUndefinedValues on). */
export class SdkDocuments implements DynamoDocuments {
  constructor(private readonly ddb: DynamoDBDocumentClient) {}

  async get(input: GetCommandInput): Promise<Document | undefined> {
    return (await this.ddb.send(new GetCommand(input))).Item;
  }

  async put(input: PutCommandInput): Promise<void> {
    await this.ddb.send(new PutCommand(input));
  }

  async update(input: UpdateCommandInput): Promise<Document | undefined> {
    return (await this.ddb.send(new UpdateCommand(input))).Attributes;
  }

  async delete(input: DeleteCommandInput): Promise<void> {
    await this.ddb.send(new DeleteCommand(input));
  }

  async scan(input: ScanCommandInput): Promise<ScanPage> {
    const out = await this.ddb.send(new ScanCommand(input));
    return { items: out.Items ?? [], lastKey: out.LastEvaluatedKey };
  }

  batchGet(table: string, keys: Document[]): Promise<Document[]> {
    return batchGet(this.ddb, table, keys);
  }

  batchPut(table: string, items: Document[]): Promise<void> {
    return batchPut(this.ddb, table, items);
  }

  async close(): Promise<void> {}
}
