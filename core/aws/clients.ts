/**
 * AWS clients, created once per process from configuration, so the same code talks to AWS or to the
 * local stack. Core functions receive these; they never construct clients.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SixbackConfig } from '../config.ts';

export interface AwsClients {
  s3: S3Client;
  ddb: DynamoDBDocumentClient;
  ses: SESv2Client;
  sfn: SFNClient;
}

/**
 * What records a client's calls in X-Ray: Powertools' Tracer on Lambda (handlers/runtime.ts), where it is
 * a no-op unless the function is traced. Elsewhere no tracer is passed and the clients are left alone.
 */
export interface ClientTracer {
  captureAWSv3Client<T>(client: T): T;
}

export function createClients(config: SixbackConfig, tracer?: ClientTracer): AwsClients {
  const traced = <T>(client: T): T => (tracer ? tracer.captureAWSv3Client(client) : client);
  // Static credentials belong to local services only: a service left on real AWS (no endpoint override)
  // uses the standard credential chain even when the others are local.
  const base = (endpoint: string | undefined) => ({
    region: config.region,
    ...(endpoint !== undefined && config.credentials ? { credentials: config.credentials } : {}),
  });
  const s3 = traced(
    new S3Client({
      ...base(config.endpoints.s3),
      endpoint: config.endpoints.s3,
      forcePathStyle: config.endpoints.s3 !== undefined,
      // Streamed uploads with default checksums get stored with their chunk framing by s3rver, and real S3
      // refuses presigned URLs carrying an empty-body checksum: only checksum when an operation requires it.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
  );
  // The document client shares the middleware of the client it wraps: capturing that one traces both.
  const dynamodb = traced(
    new DynamoDBClient({
      ...base(config.endpoints.dynamodb),
      endpoint: config.endpoints.dynamodb,
    }),
  );
  const ddb = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  // One attempt per call: the sender retries itself, and must see each throttle to slow down (an SDK retry
  // would hide it and multiply the calls SES already refused).
  const ses = traced(
    new SESv2Client({
      ...base(config.endpoints.ses),
      endpoint: config.endpoints.ses,
      maxAttempts: 1,
    }),
  );
  const sfn = traced(new SFNClient({ ...base(config.endpoints.sfn), endpoint: config.endpoints.sfn }));
  return { s3, ddb, ses, sfn };
}
