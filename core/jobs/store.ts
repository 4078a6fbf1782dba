/**
 * Job records: work too long for one API request (a report over a million rows, a suppression import of
 * an uploaded file), started by the API, run elsewhere (an asynchronous Lambda invocation on AWS, the
 * background locally), and polled by the client. Kept in the campaigns table under keys no campaign id
 * can take (`job#...`, and no `createdAt`, so they stay out of the campaign list's index).
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { writeIf } from '../aws/dynamo.ts';
import { NotFoundError } from '../errors.ts';

export const JOB_TYPES = ['report', 'suppression-import'] as const;
export type JobType = (typeof JOB_TYPES)[number];
export type JobStatus = 'running' | 'succeeded' | 'failed';

export interface JobProgress {
  done: number;
  total?: number;
  /** What `done` counts ("rows"). */
  unit: string;
}

export interface JobRecord {
  id: string;
  kind: 'job';
  type: JobType;
  status: JobStatus;
  /** What the job works on: a campaign id, an object key. */
  subject: string;
  /** The job's parameters (core/jobs/jobs.ts JobInputSchema). */
  input: Record<string, unknown>;
  requestedAt: string;
  updatedAt: string;
  finishedAt?: string;
  progress?: JobProgress;
  result?: Record<string, unknown>;
  error?: { code: string; message: string };
}

const KEY_PREFIX = 'job#';

export class JobStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Stores a new job; false if one with this id exists already (the caller joins it). */
  create(record: JobRecord): Promise<boolean> {
    return this.putIf(record, { ConditionExpression: 'attribute_not_exists(id)' });
  }

  async find(id: string): Promise<JobRecord | undefined> {
    const out = await this.ddb.send(
      new GetCommand({ TableName: this.table, Key: { id: `${KEY_PREFIX}${id}` }, ConsistentRead: true }),
    );
    const item = out.Item as JobRecord | undefined;
    return item ? { ...item, id } : undefined;
  }

  async get(id: string): Promise<JobRecord> {
    const job = await this.find(id);
    if (!job) throw new NotFoundError(`No job "${id}".`, { details: { jobId: id } });
    return job;
  }

  /** Replaces a finished job of the same id with a new run of it (a report asked for again after a failure). */
  restart(record: JobRecord): Promise<boolean> {
    return this.putIf(record, {
      ConditionExpression: '#status <> :running',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':running': 'running' },
    });
  }

  /** Puts the job's record if the condition holds; false if it does not. */
  private async putIf(
    record: JobRecord,
    condition: Omit<PutCommandInput, 'TableName' | 'Item'>,
  ): Promise<boolean> {
    return writeIf(
      this.ddb.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...record, id: `${KEY_PREFIX}${record.id}` },
          ...condition,
        }),
      ),
    );
  }

  async progress(id: string, progress: JobProgress): Promise<void> {
    await this.update(id, { progress });
  }

  async succeed(id: string, result: Record<string, unknown>): Promise<void> {
    const now = this.clock().toISOString();
    await this.update(id, { status: 'succeeded', result, finishedAt: now });
  }

  async fail(id: string, error: { code: string; message: string }): Promise<void> {
    const now = this.clock().toISOString();
    await this.update(id, { status: 'failed', error, finishedAt: now });
  }

  private async update(id: string, attributes: Partial<JobRecord>): Promise<void> {
    const values = { ...attributes, updatedAt: this.clock().toISOString() };
    const names = Object.keys(values);
    await this.ddb.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { id: `${KEY_PREFIX}${id}` },
        UpdateExpression: `SET ${names.map((_, i) => `#n${i} = :v${i}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(names.map((name, i) => [`#n${i}`, name])),
        ExpressionAttributeValues: Object.fromEntries(
          names.map((name, i) => [`:v${i}`, values[name as keyof typeof values]]),
        ),
        ConditionExpression: 'attribute_exists(id)',
      }),
    );
  }
}
