/** An in-memory dynalite with sixback's tables under the given names, for tests of the stores over it. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createTables, startDynamo } from '../../local/services.ts';

type TableNames = Parameters<typeof createTables>[1];

export interface TestTables {
  url: string;
  /** A document client as core/app.ts configures one (undefined attributes dropped). */
  documents: DynamoDBDocumentClient;
  close(): Promise<void>;
}

export async function startTestTables(names: TableNames): Promise<TestTables> {
  const dynalite = await startDynamo(undefined);
  const client = new DynamoDBClient({
    region: 'eu-west-1',
    endpoint: dynalite.url,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
  });
  await createTables(client, names);
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return {
    url: dynalite.url,
    documents,
    close: async () => {
      documents.destroy();
      await dynalite.close();
    },
  };
}
