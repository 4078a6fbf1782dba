/**
 * The three local AWS services, started in-process on loopback: s3rver (S3), dynalite (DynamoDB) and
 * sixback's own SES v2 (local/ses/: a mailbox on disk with a web inbox, and the events SES publishes). Ports default to 0 (any free port) so several stacks can
 * run at once, as the tests do.
 */

import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { TABLES, type TableName, type TableShape } from '../core/aws/tables.ts';
import { type LocalSes, type LocalSesOptions, startLocalSes } from './ses/server.ts';

const require = createRequire(import.meta.url);

export interface RunningService {
  url: string;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const urlOf = (server: { address(): AddressInfo | string | null }) =>
  `http://${HOST}:${(server.address() as AddressInfo).port}`;

export async function startS3(directory: string, port = 0): Promise<RunningService> {
  mkdirSync(directory, { recursive: true });
  const S3rver = require('s3rver') as new (
    options: Record<string, unknown>,
  ) => {
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  };
  const server = new S3rver({ address: HOST, port, silent: true, directory });
  const address = await server.run();
  return { url: `http://${HOST}:${address.port}`, close: () => server.close() };
}

export async function startDynamo(directory: string | undefined, port = 0): Promise<RunningService> {
  const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;
  if (directory) mkdirSync(directory, { recursive: true });
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(directory ? { path: directory } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => resolve());
  });
  return { url: urlOf(server), close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** sixback's own local SES v2 (local/ses/server.ts), its mailbox in `options.directory`. */
export async function startSes(options: LocalSesOptions): Promise<RunningService & { ses: LocalSes }> {
  const ses = await startLocalSes(options);
  return { url: ses.url, ses, close: () => ses.close() };
}

export async function createTable(dynamodb: DynamoDBClient, name: string, shape: TableShape): Promise<void> {
  const attributes = new Map<string, 'S' | 'N'>([[shape.partitionKey, 'S']]);
  if (shape.sortKey) attributes.set(shape.sortKey.name, shape.sortKey.type);
  for (const index of shape.indexes ?? []) {
    attributes.set(index.partitionKey, 'S');
    attributes.set(index.sortKey, 'S');
  }
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
          AttributeName,
          AttributeType,
        })),
        KeySchema: [
          { AttributeName: shape.partitionKey, KeyType: 'HASH' },
          ...(shape.sortKey ? [{ AttributeName: shape.sortKey.name, KeyType: 'RANGE' as const }] : []),
        ],
        ...(shape.indexes
          ? {
              GlobalSecondaryIndexes: shape.indexes.map((index) => ({
                IndexName: index.name,
                KeySchema: [
                  { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
                  { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
                ],
                Projection:
                  typeof index.projection === 'string'
                    ? { ProjectionType: index.projection }
                    : { ProjectionType: 'INCLUDE' as const, NonKeyAttributes: index.projection.include },
              })),
            }
          : {}),
      }),
    );
  } catch (error) {
    // A persisted data folder already has its tables.
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await untilActive(dynamodb, name);
}

/**
 * A new table is CREATING at first, on AWS and in dynalite (even with createTableMs 0 its status flips on
 * a timer), and a write to it then fails with ResourceNotFoundException: wait until it is ACTIVE.
 */
async function untilActive(dynamodb: DynamoDBClient, name: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: name }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (Date.now() > deadline)
      throw new Error(
        `DynamoDB table ${name} is still ${Table?.TableStatus ?? 'missing'} after ${timeoutMs} ms`,
      );
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function createTables(
  dynamodb: DynamoDBClient,
  names: Partial<Record<TableName, string>>,
): Promise<void> {
  for (const [table, shape] of Object.entries(TABLES) as [TableName, TableShape][]) {
    const name = names[table];
    if (name) await createTable(dynamodb, name, shape);
  }
}

export async function createBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = (error as Error).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
}

export const dataPaths = (dataDir: string) => ({
  s3: join(dataDir, 's3'),
  dynamodb: join(dataDir, 'dynamodb'),
  ses: join(dataDir, 'ses'),
});
