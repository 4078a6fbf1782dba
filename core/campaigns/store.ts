/** Campaign records in DynamoDB. Status changes go through `transition`, which enforces the status module. */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { IllegalTransitionError, NotFoundError } from '../errors.ts';
import type { CampaignSpec, SendPlan } from '../schemas.ts';
import { assertTransition, type CampaignStatus, RECIPIENT_STATES, type RecipientCounts } from './status.ts';

export interface RowProblem {
  row: number;
  problem: string;
}

export interface RecipientsCheck {
  columns: string[];
  emailColumn: string;
  rows: number;
  valid: number;
  invalid: number;
  duplicates: number;
  blankLines: number;
  /** The delimiter the file uses, detected from its header line: `,`, `;` (Excel in many locales) or tab. */
  delimiter?: string;
  /** Rows with fewer fields than the header, and the first of their row numbers (what the campaign's
   * shortRows option did with them: skipped as invalid, padded and sent, or the file refused). */
  shortRows?: number;
  shortRowNumbers?: number[];
  /** The first problems found, enough to fix the file; the report lists every row. */
  problems: RowProblem[];
  /** The first duplicate rows found, each with the row it repeats (older records have none). */
  duplicateRows?: { row: number; sameAs: number }[];
  /** The file could not be used at all (the first problem says why); nothing was sent. */
  fatal?: boolean;
}

export interface CampaignRecord {
  id: string;
  kind: 'campaign';
  name: string;
  status: CampaignStatus;
  statusReason?: string;
  spec: CampaignSpec;
  templateVersion: number;
  /** The version of every partial the template renders, pinned at creation (reference -> version). */
  partials?: Record<string, number>;
  rate: number;
  createdAt: string;
  updatedAt: string;
  sendAt?: string;
  startedAt?: string;
  /** The send started after its scheduled time (the engine was down, or the Wait ran late). */
  startedLateBySeconds?: number;
  finishedAt?: string;
  executionArn?: string;
  executions: number;
  idempotencyKey?: string;
  /** SHA-256 of the parsed request the Idempotency-Key created this campaign with (core/campaigns/service.ts). */
  requestHash?: string;
  plan?: SendPlan;
  check?: RecipientsCheck;
  /** Live counts, added by each batch as it finishes; the finaliser replaces them with exact totals. */
  progress: RecipientCounts;
  totals?: RecipientCounts & { rows: number };
  reportKey?: string;
  /** What the current run sends: every row not yet sent (`all`), or only rows that failed retryably. */
  runMode?: 'all' | 'failed';
  /** Why the rate used differs from the one asked for (SES maximum, or spread over the 24-hour quota). */
  rateNote?: string;
  /** Seconds the current run is expected to take at its rate. */
  estimatedSeconds?: number;
  /** SES events counted for this campaign (bounce, complaint, delivery...), added by the events handler. */
  events?: Partial<Record<string, number>>;
  /** Deliverability alarms raised for this campaign (complaint or bounce rate over its threshold). */
  alarms?: { metric: string; value: number; threshold: number; raisedAt: string }[];
}

export class CampaignStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async create(record: CampaignRecord): Promise<void> {
    await this.ddb.send(
      new PutCommand({
        TableName: this.table,
        Item: record,
        ConditionExpression: 'attribute_not_exists(id)',
      }),
    );
  }

  async find(id: string): Promise<CampaignRecord | undefined> {
    const out = await this.ddb.send(
      new GetCommand({ TableName: this.table, Key: { id }, ConsistentRead: true }),
    );
    return out.Item as CampaignRecord | undefined;
  }

  async get(id: string): Promise<CampaignRecord> {
    const record = await this.find(id);
    if (!record) throw new NotFoundError(`No campaign "${id}".`, { details: { campaignId: id } });
    return record;
  }

  async list(limit: number, cursor?: string): Promise<{ items: CampaignRecord[]; cursor?: string }> {
    const out = await this.ddb.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: 'byCreatedAt',
        KeyConditionExpression: 'kind = :kind',
        ExpressionAttributeValues: { ':kind': 'campaign' },
        ScanIndexForward: false,
        Limit: limit,
        ...(cursor ? { ExclusiveStartKey: JSON.parse(Buffer.from(cursor, 'base64url').toString()) } : {}),
      }),
    );
    const next = out.LastEvaluatedKey
      ? Buffer.from(JSON.stringify(out.LastEvaluatedKey)).toString('base64url')
      : undefined;
    return { items: (out.Items ?? []) as CampaignRecord[], ...(next ? { cursor: next } : {}) };
  }

  /**
   * Moves the campaign from one of `from` to `to`, with extra attributes, atomically: if another writer
   * changed the status meanwhile the condition fails and nothing is written.
   */
  async transition(
    id: string,
    to: CampaignStatus,
    patch: Partial<Omit<CampaignRecord, 'id' | 'status'>> = {},
    from?: CampaignStatus[],
    /** Attributes to delete in the same write (a resumed campaign drops its previous run's totals). */
    remove: (keyof CampaignRecord)[] = [],
  ): Promise<CampaignRecord> {
    const current = await this.get(id);
    const allowedFrom = from ?? [current.status];
    if (!allowedFrom.includes(current.status)) {
      throw new IllegalTransitionError(
        `Campaign ${id} is ${current.status}, not ${allowedFrom.join(' or ')}.`,
        {
          details: { campaignId: id, status: current.status, expected: allowedFrom },
        },
      );
    }
    assertTransition(current.status, to);
    const fields: Record<string, unknown> = { ...patch, status: to, updatedAt: this.clock().toISOString() };
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = { ':from': current.status };
    const sets: string[] = [];
    for (const name of remove) names[`#rm_${name}`] = name;
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      names[`#${name}`] = name;
      values[`:${name}`] = value;
      sets.push(`#${name} = :${name}`);
    }
    try {
      const out = await this.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id },
          UpdateExpression: `SET ${sets.join(', ')}${remove.length > 0 ? ` REMOVE ${remove.map((name) => `#rm_${name}`).join(', ')}` : ''}`,
          ConditionExpression: '#status = :from',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes as CampaignRecord;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') {
        const now = await this.get(id);
        throw new IllegalTransitionError(`Campaign ${id} changed to ${now.status} while becoming ${to}.`, {
          details: { campaignId: id, status: now.status, wanted: to },
        });
      }
      throw error;
    }
  }

  /** Sets attributes that are not the status (plan, check results, execution ARN...). */
  async patch(id: string, patch: Partial<Omit<CampaignRecord, 'id' | 'status'>>): Promise<void> {
    const entries = Object.entries({ ...patch, updatedAt: this.clock().toISOString() }).filter(
      ([, v]) => v !== undefined,
    );
    await this.ddb.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { id },
        UpdateExpression: `SET ${entries.map(([k]) => `#${k} = :${k}`).join(', ')}`,
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeNames: Object.fromEntries(entries.map(([k]) => [`#${k}`, k])),
        ExpressionAttributeValues: Object.fromEntries(entries.map(([k, v]) => [`:${k}`, v])),
      }),
    );
  }

  /**
   * Adds to the campaign's SES event counters and returns the updated record, or undefined when there is
   * no such campaign. The `events` map is created on first use, since older records have none.
   */
  async addEvents(id: string, counts: Partial<Record<string, number>>): Promise<CampaignRecord | undefined> {
    const names = Object.keys(counts).filter((name) => /^[A-Za-z]+$/.test(name) && (counts[name] ?? 0) !== 0);
    if (names.length === 0) return this.find(id);
    const add = () =>
      this.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id },
          UpdateExpression: `ADD ${names.map((n) => `#events.#${n} :${n}`).join(', ')}`,
          ConditionExpression: 'attribute_exists(id)',
          ExpressionAttributeNames: {
            '#events': 'events',
            ...Object.fromEntries(names.map((n) => [`#${n}`, n])),
          },
          ExpressionAttributeValues: Object.fromEntries(names.map((n) => [`:${n}`, counts[n]])),
          ReturnValues: 'ALL_NEW',
        }),
      );
    try {
      return (await add()).Attributes as CampaignRecord;
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'ConditionalCheckFailedException') return undefined;
      if (name !== 'ValidationException') throw error;
      // The document path does not exist yet: create the map (if still missing) and add again.
      try {
        await this.ddb.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { id },
            UpdateExpression: 'SET #events = if_not_exists(#events, :empty)',
            ConditionExpression: 'attribute_exists(id)',
            ExpressionAttributeNames: { '#events': 'events' },
            ExpressionAttributeValues: { ':empty': {} },
          }),
        );
      } catch (inner) {
        if ((inner as Error).name === 'ConditionalCheckFailedException') return undefined;
        throw inner;
      }
      return (await add()).Attributes as CampaignRecord;
    }
  }

  /** Adds a batch's new outcomes to the live progress counters (one small write per batch). */
  async addProgress(id: string, counts: Partial<RecipientCounts>): Promise<void> {
    const states = RECIPIENT_STATES.filter((state) => (counts[state] ?? 0) > 0);
    if (states.length === 0) return;
    await this.ddb.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { id },
        UpdateExpression: `ADD ${states.map((s) => `progress.#${s} :${s}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(states.map((s) => [`#${s}`, s])),
        ExpressionAttributeValues: Object.fromEntries(states.map((s) => [`:${s}`, counts[s]])),
      }),
    );
  }
}
