/** Campaign records in DynamoDB. Status changes go through `transition`, which enforces the status module. */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { TestResult } from '../abtest/stats.ts';
import { batchGet } from '../aws/dynamo.ts';
import { IllegalTransitionError, NotFoundError } from '../errors.ts';
import { type Logger, SILENT_LOGGER } from '../logging.ts';
import type { AbMetric, CampaignSpec, SendPlan, VariantRef } from '../schemas.ts';
import {
  COUNTER_SHARDS,
  counterKeys,
  isCounterName,
  progressId,
  statsPartition,
  sumCounters,
  TOTAL_SORT_KEY,
} from './counters.ts';
import {
  assertTransition,
  type CampaignStatus,
  emptyCounts,
  RECIPIENT_STATES,
  type RecipientCounts,
} from './status.ts';

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

/**
 * Where a campaign's prepared file is and which upload it was made from. Older records have none: their
 * file is at keys.prepared(id).
 */
export interface PreparedFileRef {
  key: string;
  /** The upload as the read that checked it saw it: S3's ETag names the object's content. */
  source: { key: string; etag: string; versionId?: string };
  /** `creation`: createCampaign read the file once and wrote this; Prepare only verifies the upload is
   * still the object it read. `prepare`: Prepare read the upload itself. */
  writtenBy: 'creation' | 'prepare';
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
  /** The prepared file of `check`, and the upload it was read from. */
  prepared?: PreparedFileRef;
  /**
   * Live counts, added by each batch as it finishes; the finaliser replaces them with exact totals. Kept in
   * a small item of their own (core/campaigns/counters.ts) and merged in when the record is read.
   */
  progress: RecipientCounts;
  totals?: RecipientCounts & { rows: number };
  reportKey?: string;
  /** What the current run sends: every row not yet sent (`all`), or only rows that failed retryably. */
  runMode?: 'all' | 'failed';
  /** Why the rate used differs from the one asked for (SES maximum, or spread over the 24-hour quota). */
  rateNote?: string;
  /** Seconds the current run is expected to take at its rate. */
  estimatedSeconds?: number;
  /**
   * SES events counted for this campaign (bounce, complaint, delivery...), added by the events handler to
   * sharded counter items (core/campaigns/counters.ts) and summed in when the record is read.
   */
  events?: Partial<Record<string, number>>;
  /** Recipients with at least one event of a kind (uniqueDelivery, uniqueOpen...), summed from the same shards. */
  uniqueEvents?: Partial<Record<string, number>>;
  /** Deliverability alarms raised for this campaign (complaint or bounce rate over its threshold). */
  alarms?: { metric: string; value: number; threshold: number; raisedAt: string }[];
  abTest?: AbTestRecord;
}

/** What the send gate needs of a campaign: a few small attributes, read on their own. */
export type CampaignGateView = Pick<CampaignRecord, 'status' | 'statusReason' | 'executions'>;
export const GATE_PROJECTION = {
  expression: '#status, #statusReason, #executions',
  names: { '#status': 'status', '#statusReason': 'statusReason', '#executions': 'executions' },
};

/** The read of a campaign's gate view: consistent (a stop must be seen), only GATE_PROJECTION. */
export const gateViewInput = (table: string, id: string) => ({
  TableName: table,
  Key: { id },
  ConsistentRead: true,
  ProjectionExpression: GATE_PROJECTION.expression,
  ExpressionAttributeNames: GATE_PROJECTION.names,
});

/**
 * How many times a transition with several allowed starting statuses is tried when other writers keep
 * moving the status between them (each status moves forward a few times at most in a campaign's life).
 */
const TRANSITION_ATTEMPTS = 5;

export class CampaignStore {
  /** Told of every status change after it is written (core/app.ts publishes it as a webhook event). */
  onStatusChange: ((record: CampaignRecord, from: CampaignStatus) => Promise<void>) | undefined;
  /** Where a failing status change listener is reported (core/app.ts sets the app's logger). */
  logger: Logger = SILENT_LOGGER;

  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: () => Date = () => new Date(),
    /** The analytics table, where the sharded SES event counters live (core/campaigns/counters.ts). */
    private readonly countersTable?: string,
    private readonly random: () => number = Math.random,
  ) {}

  async create(record: CampaignRecord): Promise<void> {
    const { events: _events, uniqueEvents: _uniques, ...item } = record;
    await this.ddb.send(
      new PutCommand({
        TableName: this.table,
        Item: item,
        ConditionExpression: 'attribute_not_exists(id)',
      }),
    );
  }

  async find(id: string): Promise<CampaignRecord | undefined> {
    const [progress, counters] = await Promise.all([
      this.ddb.send(
        new GetCommand({ TableName: this.table, Key: { id: progressId(id) }, ConsistentRead: true }),
      ),
      this.countersTable
        ? batchGet(this.ddb, this.countersTable, counterKeys(id), { consistent: true })
        : Promise.resolve([]),
    ]);
    // The record after its counters: the finaliser writes the status before the final progress, so a
    // record read this way that says "completed" has its totals, whatever the progress item said.
    const main = await this.ddb.send(
      new GetCommand({ TableName: this.table, Key: { id }, ConsistentRead: true }),
    );
    if (!main.Item) return undefined;
    return this.merge(main.Item as CampaignRecord, progress.Item, counters);
  }

  /** Several campaigns, each with its progress and counters, in as few batch reads as DynamoDB allows. */
  async findMany(ids: string[]): Promise<Map<string, CampaignRecord>> {
    const [items, counters] = await Promise.all([
      batchGet(
        this.ddb,
        this.table,
        ids.flatMap((id) => [{ id }, { id: progressId(id) }]),
      ),
      this.countersTable
        ? batchGet(
            this.ddb,
            this.countersTable,
            ids.flatMap((id) => counterKeys(id)),
          )
        : Promise.resolve([]),
    ]);
    const byId = new Map(items.map((item) => [item.id as string, item]));
    const shardsOf = new Map<string, Record<string, unknown>[]>();
    for (const item of counters) {
      const campaignId = String(item.pk).replace(/#s\d+$/, '');
      shardsOf.set(campaignId, [...(shardsOf.get(campaignId) ?? []), item]);
    }
    const found = new Map<string, CampaignRecord>();
    for (const id of ids) {
      const main = byId.get(id);
      if (main)
        found.set(
          id,
          this.merge(main as unknown as CampaignRecord, byId.get(progressId(id)), shardsOf.get(id) ?? []),
        );
    }
    return found;
  }

  /**
   * The record as callers know it: progress from its own item (the record's copy is the one it was created
   * with, or an older record's), SES event counters summed over their shards (plus any an older record kept).
   */
  private merge(
    main: CampaignRecord,
    progress: Record<string, unknown> | undefined,
    counters: Record<string, unknown>[],
  ): CampaignRecord {
    const record = { ...main };
    if (progress) {
      const counts = emptyCounts();
      for (const state of RECIPIENT_STATES)
        counts[state] = typeof progress[state] === 'number' ? (progress[state] as number) : 0;
      record.progress = counts;
    }
    const sums = sumCounters(counters);
    const events: Record<string, number> = { ...(main.events as Record<string, number> | undefined) };
    const uniques: Record<string, number> = {};
    for (const [name, value] of Object.entries(sums)) {
      // Recipients counted once each (uniqueOpen...) are not events: they are kept apart.
      if (name.startsWith('unique')) uniques[name] = value;
      else events[name] = (events[name] ?? 0) + value;
    }
    if (Object.keys(events).length > 0) record.events = events;
    if (Object.keys(uniques).length > 0) record.uniqueEvents = uniques;
    return record;
  }

  /** The attributes the send gate reads, every half second of every batch: a small projected read. */
  async gateView(id: string): Promise<CampaignGateView | undefined> {
    const out = await this.ddb.send(new GetCommand(gateViewInput(this.table, id)));
    return out.Item as CampaignGateView | undefined;
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
    // The index holds keys only (core/aws/tables.ts): the records are read by id, in the index's order.
    const ids = (out.Items ?? []).map((item) => item.id as string);
    const records = await this.findMany(ids);
    const items = ids.flatMap((id) => {
      const record = records.get(id);
      return record ? [record] : [];
    });
    return { items, ...(next ? { cursor: next } : {}) };
  }

  /**
   * Moves the campaign from one of `from` to `to`, with extra attributes, atomically: if another writer
   * changed the status meanwhile the condition fails and nothing is written. When the status moved to
   * another of `from` (Prepare making a campaign scheduled while the user cancels it), the move is tried
   * again from there: only a status outside `from`, or one that cannot become `to`, refuses it. Without
   * `from`, the status read is the only one allowed, and any change meanwhile refuses the move.
   */
  async transition(
    id: string,
    to: CampaignStatus,
    patch: Partial<Omit<CampaignRecord, 'id' | 'status'>> = {},
    from?: CampaignStatus[],
    /** Attributes to delete in the same write (a resumed campaign drops its previous run's totals). */
    remove: (keyof CampaignRecord)[] = [],
  ): Promise<CampaignRecord> {
    for (let attempt = 1; ; attempt++) {
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
      const { progress, events: _events, uniqueEvents: _uniques, ...rest } = patch;
      const fields: Record<string, unknown> = { ...rest, status: to, updatedAt: this.clock().toISOString() };
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
      let out: { Attributes?: Record<string, unknown> | undefined };
      try {
        out = await this.ddb.send(
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
      } catch (error) {
        if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
        // Another writer moved the status first: read it again and let the checks above decide.
        if (from !== undefined && attempt < TRANSITION_ATTEMPTS) continue;
        const now = await this.get(id);
        throw new IllegalTransitionError(`Campaign ${id} changed to ${now.status} while becoming ${to}.`, {
          details: { campaignId: id, status: now.status, wanted: to },
        });
      }
      if (progress) await this.setProgress(id, progress);
      const record: CampaignRecord = {
        ...(out.Attributes as unknown as CampaignRecord),
        progress: progress ?? current.progress,
        ...(current.events ? { events: current.events } : {}),
        ...(current.uniqueEvents ? { uniqueEvents: current.uniqueEvents } : {}),
      };
      if (this.onStatusChange) {
        // A listener (webhooks, the event bus) only hands the change over; its failure never undoes or
        // fails the transition, which has happened.
        try {
          await this.onStatusChange(record, current.status);
        } catch (error) {
          this.logger.error('status change listener failed', {
            campaignId: id,
            status: to,
            error,
          });
        }
      }
      return record;
    }
  }

  /** Sets attributes that are not the status (plan, check results, execution ARN...). */
  async patch(id: string, patch: Partial<Omit<CampaignRecord, 'id' | 'status'>>): Promise<void> {
    const { progress, events: _events, uniqueEvents: _uniques, ...rest } = patch;
    const entries = Object.entries({ ...rest, updatedAt: this.clock().toISOString() }).filter(
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
    if (progress) await this.setProgress(id, progress);
  }

  /** Replaces the live progress counts (a new run starts from what was sent before; the finaliser's totals). */
  private async setProgress(id: string, progress: RecipientCounts): Promise<void> {
    await this.ddb.send(
      new PutCommand({ TableName: this.table, Item: { ...emptyCounts(), ...progress, id: progressId(id) } }),
    );
  }

  /**
   * Adds to the campaign's SES event counters (one write on one of COUNTER_SHARDS small items, picked at
   * random, so no item takes every batch) and returns the record with the new sums, or undefined when there
   * is no such campaign.
   */
  async addEvents(id: string, counts: Partial<Record<string, number>>): Promise<CampaignRecord | undefined> {
    const names = Object.keys(counts).filter((name) => isCounterName(name) && (counts[name] ?? 0) !== 0);
    if (names.length === 0 || !this.countersTable) return this.find(id);
    if (!(await this.gateView(id))) return undefined;
    const shard = Math.floor(this.random() * COUNTER_SHARDS) % COUNTER_SHARDS;
    await this.ddb.send(
      new UpdateCommand({
        TableName: this.countersTable,
        Key: { pk: statsPartition(id, shard), sk: TOTAL_SORT_KEY },
        UpdateExpression: `ADD ${names.map((n) => `#${n} :${n}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(names.map((n) => [`#${n}`, n])),
        ExpressionAttributeValues: Object.fromEntries(names.map((n) => [`:${n}`, counts[n]])),
      }),
    );
    return this.find(id);
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

  /** Adds a batch's new outcomes to the live progress counters (one small write on the progress item). */
  async addProgress(id: string, counts: Partial<RecipientCounts>): Promise<void> {
    const states = RECIPIENT_STATES.filter((state) => (counts[state] ?? 0) > 0);
    if (states.length === 0) return;
    await this.ddb.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { id: progressId(id) },
        UpdateExpression: `ADD ${states.map((s) => `#${s} :${s}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(states.map((s) => [`#${s}`, s])),
        ExpressionAttributeValues: Object.fromEntries(states.map((s) => [`:${s}`, counts[s]])),
      }),
    );
  }
}
