/** Campaign records in DynamoDB. Status changes go through `transition`, which enforces the status module. */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { TestResult } from '../abtest/stats.ts';
import { IllegalTransitionError, NotFoundError } from '../errors.ts';
import type { AbMetric, CampaignSpec, SendPlan, VariantRef } from '../schemas.ts';
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

/** Where an A/B test is: sending its sample, waiting for the decision, held for a pick, or decided. */
export type AbTestPhase = 'sample' | 'waiting' | 'held' | 'decided';

export interface AbTestDecision {
  variant: string;
  /** `test`: the statistics called it; `fallback`: no winner, variant A by the campaign's rule; `manual`. */
  by: 'test' | 'fallback' | 'manual';
  at: string;
  reason: string;
}

/** An A/B test's state on its campaign (the spec is in spec.abTest; this is what happened). */
export interface AbTestRecord {
  /** Each variant resolved and pinned when the campaign was created. */
  variants: VariantRef[];
  metric: AbMetric;
  phase: AbTestPhase;
  /** Valid rows per variant of the sample, and in the remainder (written by Prepare). */
  assigned?: Record<string, number>;
  remainder?: number;
  /** Sample recipients SES accepted, per variant (from the sample Map's results). */
  sent?: Record<string, number>;
  /** The run that counted `sent` (each run's sample Map reports every sample row again, via the ledger). */
  sentRun?: number;
  sampleSentAt?: string;
  /** Since when the test, without a winner, waits for a manual pick. */
  heldSince?: string;
  /** When the test is decided (decideAt, or the sample's end plus decideAfter). */
  decisionDue?: string;
  /** The counts and the test at the decision time. */
  result?: TestResult;
  decision?: AbTestDecision;
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
  abTest?: AbTestRecord;
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

  /** Sets fields of the campaign's A/B test (which must exist), leaving the others as they are. */
  async patchAbTest(id: string, fields: Partial<AbTestRecord>): Promise<void> {
    const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return;
    await this.ddb.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { id },
        UpdateExpression: `SET ${entries.map(([k]) => `#ab.#${k} = :${k}`).join(', ')}, #updatedAt = :updatedAt`,
        ConditionExpression: 'attribute_exists(#ab)',
        ExpressionAttributeNames: {
          '#ab': 'abTest',
          '#updatedAt': 'updatedAt',
          ...Object.fromEntries(entries.map(([k]) => [`#${k}`, k])),
        },
        ExpressionAttributeValues: {
          ':updatedAt': this.clock().toISOString(),
          ...Object.fromEntries(entries.map(([k, v]) => [`:${k}`, v])),
        },
      }),
    );
  }

  /**
   * Records the A/B test's decision unless one is recorded already (a manual pick racing the automatic
   * decision: the first one written wins). Returns the decision that stands.
   */
  async decideAbTest(id: string, decision: AbTestDecision, result?: TestResult): Promise<AbTestDecision> {
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id },
          UpdateExpression: `SET #ab.#decision = :decision, #ab.#phase = :decided${result ? ', #ab.#result = :result' : ''}, #updatedAt = :updatedAt`,
          ConditionExpression: 'attribute_exists(#ab) AND attribute_not_exists(#ab.#decision)',
          ExpressionAttributeNames: {
            '#ab': 'abTest',
            '#decision': 'decision',
            '#phase': 'phase',
            '#updatedAt': 'updatedAt',
            ...(result ? { '#result': 'result' } : {}),
          },
          ExpressionAttributeValues: {
            ':decision': decision,
            ':decided': 'decided',
            ':updatedAt': this.clock().toISOString(),
            ...(result ? { ':result': result } : {}),
          },
        }),
      );
      return decision;
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      const current = (await this.get(id)).abTest?.decision;
      if (!current) throw error;
      return current;
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
