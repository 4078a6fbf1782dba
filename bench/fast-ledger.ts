/**
 * A faster local DynamoDB for the send ledger. dynalite validates and stores every item through a LevelDB
 * emulation and manages about 6,000 written items/s, which is more CPU than rendering and sending the
 * email: a campaign of a million recipients spends minutes in it. This front answers BatchWriteItem and
 * BatchGetItem on the ledger table itself, from memory, and passes every other request through to dynalite
 * unchanged. The core's DynamoLedger still makes the same SDK calls (BatchGet before sending, BatchWrite
 * after, in groups): only the local server behind them is different.
 *
 * It also answers BatchGetItem on a table nobody has written to through it (in an ephemeral stack, every
 * writer goes through it, so such a table is empty): the sender's suppression lookup, one per batch of
 * recipients, costs dynalite about 60 µs per key even when the list is empty.
 *
 * Single-item operations on the ledger table (the sender's conditional batch leases) go on to dynalite,
 * which evaluates their conditions. The two stores never share a key: a batch operation on a key a
 * single-item operation wrote, or the reverse, fails loudly, as does any other operation on the table
 * (Query, Scan): a ValidationException rather than a quietly wrong answer.
 *
 * What it does not do, on purpose: persist (so the local stack uses it only for ephemeral stacks).
 */
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TABLES } from '../core/aws/tables.ts';
import type { RunningService } from '../local/services.ts';

type AttributeValue = Record<string, unknown>;
type Item = Record<string, AttributeValue>;

const HOST = '127.0.0.1';
const SINGLE_ITEM = new Set(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem']);
const WRITES = new Set([
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
  'TransactWriteItems',
  'CreateTable',
  'DeleteTable',
  'RestoreTableFromBackup',
  'ImportTable',
]);
const JSON_10 = { 'content-type': 'application/x-amz-json-1.0' };

/** A DynamoDB key attribute's value as text (the ledger's keys are strings; numbers are kept apart). */
function keyPart(value: AttributeValue | undefined): string {
  if (!value) return '';
  if (typeof value.S === 'string') return `S${value.S}`;
  if (typeof value.N === 'string') return `N${value.N}`;
  return JSON.stringify(value);
}

export interface FastLedgerOptions {
  /** dynalite's URL: everything that is not the ledger's batch traffic goes there. */
  upstream: string;
  table: string;
  partitionKey: string;
  sortKey: string;
}

export class FastLedgerFront {
  /** Each item as its DynamoDB JSON text: a third of the memory of the parsed object, and no re-serialising. */
  private readonly items = new Map<string, string>();
  private server: Server | undefined;
  private readonly upstream: URL;
  url = '';
  /** Items written and read through the front (for the benchmark's accounting). */
  readonly stats = { writes: 0, reads: 0, passedThrough: 0, emptyReads: 0 };
  /** Tables a write went to through this front; every other table is known to be empty. */
  private readonly written = new Set<string>();
  private unknownWrites = false;
  /** Ledger keys written by single-item operations, which dynalite keeps (the batch leases). */
  private readonly singleKeys = new Set<string>();

  constructor(private readonly options: FastLedgerOptions) {
    this.upstream = new URL(options.upstream);
  }

  private keyOf(item: Item): string {
    return `${keyPart(item[this.options.partitionKey])}\u0000${keyPart(item[this.options.sortKey])}`;
  }

  async start(port = 0): Promise<RunningService> {
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, HOST, () => resolve());
    });
    this.server = server;
    this.url = `http://${HOST}:${(server.address() as AddressInfo).port}`;
    return { url: this.url, close: () => this.close() };
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.slice(target.indexOf('.') + 1);
      const writes = WRITES.has(operation);
      // Requests that neither name the ledger table, nor write, nor batch-read go to dynalite as they came.
      if (!(writes || operation === 'BatchGetItem' || body.includes(this.options.table)))
        return this.pass(req, body, res);
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      } catch {
        return this.pass(req, body, res);
      }
      const requestItems = input.RequestItems as Record<string, unknown> | undefined;
      const tables = requestItems ? Object.keys(requestItems) : [input.TableName];
      if (!tables.includes(this.options.table)) {
        if (writes) {
          // A write whose tables are not named at the top (TransactWriteItems) turns the shortcut off.
          if (tables.some((t) => typeof t !== 'string')) this.unknownWrites = true;
          for (const table of tables) this.written.add(String(table));
        }
        if (
          operation === 'BatchGetItem' &&
          !this.unknownWrites &&
          tables.every((t) => !this.written.has(String(t)))
        )
          return this.nothingFound(tables as string[], res);
        return this.pass(req, body, res);
      }
      if (tables.length !== 1) {
        return this.fail(res, 'the fast local ledger serves requests on the ledger table alone');
      }
      if (operation === 'BatchWriteItem') return this.batchWrite(requestItems, res);
      if (operation === 'BatchGetItem') return this.batchGet(requestItems, res);
      if (SINGLE_ITEM.has(operation)) {
        // Single-item operations (the sender's batch leases: conditional puts and deletes) stay with
        // dynalite, which evaluates their conditions; the two stores must never hold the same key.
        const key = this.keyOf((input.Item ?? input.Key ?? {}) as Item);
        if (this.items.has(key)) return this.fail(res, `${operation} on a key the batch operations wrote`);
        this.singleKeys.add(key);
        return this.pass(req, body, res);
      }
      this.fail(
        res,
        `the fast local ledger serves BatchWriteItem, BatchGetItem and single-item operations, not ${operation}`,
      );
    });
  }

  private batchWrite(requestItems: Record<string, unknown> | undefined, res: ServerResponse) {
    const writes = (requestItems?.[this.options.table] ?? []) as {
      PutRequest?: { Item: Item };
      DeleteRequest?: { Key: Item };
    }[];
    if (writes.length > 25) return this.fail(res, 'Too many items requested for the BatchWriteItem call');
    // Each item's key made once, for the check and the write (all checked before any is written).
    const keys: string[] = [];
    for (const write of writes) {
      const key = this.keyOf((write.PutRequest?.Item ?? write.DeleteRequest?.Key ?? {}) as Item);
      if (this.singleKeys.has(key))
        return this.fail(res, 'BatchWriteItem on a key a single-item operation wrote');
      keys.push(key);
    }
    for (let i = 0; i < writes.length; i++) {
      const write = writes[i] as (typeof writes)[number];
      const key = keys[i] as string;
      if (write.PutRequest) this.items.set(key, JSON.stringify(write.PutRequest.Item));
      else if (write.DeleteRequest) this.items.delete(key);
    }
    this.stats.writes += writes.length;
    res.writeHead(200, JSON_10).end('{"UnprocessedItems":{}}');
  }

  private batchGet(requestItems: Record<string, unknown> | undefined, res: ServerResponse) {
    const { Keys: keys = [] } = (requestItems?.[this.options.table] ?? {}) as { Keys?: Item[] };
    if (keys.length > 100) return this.fail(res, 'Too many items requested for the BatchGetItem call');
    const found: string[] = [];
    for (const key of keys) {
      const text = this.keyOf(key);
      if (this.singleKeys.has(text))
        return this.fail(res, 'BatchGetItem on a key a single-item operation wrote');
      const item = this.items.get(text);
      if (item) found.push(item);
    }
    this.stats.reads += keys.length;
    res
      .writeHead(200, JSON_10)
      .end(`{"Responses":{${JSON.stringify(this.options.table)}:[${found.join(',')}]},"UnprocessedKeys":{}}`);
  }

  private nothingFound(tables: string[], res: ServerResponse) {
    this.stats.emptyReads++;
    res
      .writeHead(200, JSON_10)
      .end(
        JSON.stringify({ Responses: Object.fromEntries(tables.map((t) => [t, []])), UnprocessedKeys: {} }),
      );
  }

  private fail(res: ServerResponse, message: string) {
    res
      .writeHead(400, JSON_10)
      .end(JSON.stringify({ __type: 'com.amazon.coral.validate#ValidationException', message }));
  }

  private pass(req: IncomingMessage, body: Buffer, res: ServerResponse) {
    this.stats.passedThrough++;
    const upstream = request(
      {
        host: this.upstream.hostname,
        port: this.upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      res
        .writeHead(500, JSON_10)
        .end(JSON.stringify({ __type: 'InternalServerError', message: error.message }));
    });
    upstream.end(body);
  }
}

/**
 * Runs the front in a process of its own (so its memory and CPU are apart from the pipeline's, as a real
 * DynamoDB would be). Resolves with its URL once it listens.
 */
export async function startFastLedgerProcess(
  options: FastLedgerOptions,
): Promise<RunningService & { pid: number }> {
  const { fork } = await import('node:child_process');
  const child = fork(new URL(import.meta.url), ['--serve', JSON.stringify(options)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: { url: string }) => resolve(message.url));
    child.once('exit', (code) => reject(new Error(`the ledger process exited with code ${code}`)));
  });
  return {
    url,
    pid: child.pid as number,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

if (process.argv[2] === '--serve' && process.send) {
  const front = new FastLedgerFront(JSON.parse(process.argv[3] as string) as FastLedgerOptions);
  const { url } = await front.start();
  process.send({ url });
  process.on('disconnect', () => process.exit(0));
}

/** The front for the local stack's ledger table (startLocalStack's dynamoFront). */
export const ledgerFront = (upstream: string) =>
  startFastLedgerProcess({
    upstream,
    table: 'sixback-ledger',
    partitionKey: TABLES.ledger.partitionKey,
    sortKey: TABLES.ledger.sortKey.name,
  });
