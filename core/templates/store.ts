/** Templates in DynamoDB: every save is a new immutable version; campaigns pin the version they use. */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { batchDelete, queryAll } from '../aws/dynamo.ts';
import { AWS_LIMITS, dynamoItemBytes } from '../aws/limits.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { parseWith, type TemplateInput, TemplateInputSchema, type TemplateRecord } from '../schemas.ts';
import {
  type PartialPins,
  type PartialSource,
  type ResolvedPartials,
  resolvePartials,
  type TemplateParts,
} from './partials.ts';
import { assertTextVariables, compileTemplate, parseTemplatePart } from './render.ts';

/** A template as lists show it: no bodies. */
export interface TemplateSummary {
  id: string;
  name: string | undefined;
  version: number;
  subject: string;
  variables: string[];
  createdAt: string;
}

const summary = (record: TemplateRecord): TemplateSummary => ({
  id: record.id,
  name: record.name,
  version: record.version,
  subject: record.subject,
  variables: record.variables,
  createdAt: record.createdAt,
});

/**
 * A template is one DynamoDB item, which holds 400 KB: subject, HTML and text together, in UTF-8 (a
 * character outside ASCII takes 2 to 4 bytes, so 400,000 characters of each part, which the schema
 * allows, may not fit). Refused with what to do instead of DynamoDB's ValidationException (a 500).
 */
function assertStorable(record: TemplateRecord): void {
  const bytes = dynamoItemBytes(record);
  if (bytes <= AWS_LIMITS.dynamoItemBytes) return;
  const part = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text));
  throw new ValidationError(
    `The template takes ${bytes} bytes stored (HTML ${part(record.html)}, text ${part(record.text)}, subject ${part(record.subject)}); ` +
      `a stored template holds at most ${AWS_LIMITS.dynamoItemBytes} bytes (DynamoDB's item limit). ` +
      'Host images instead of embedding them (POST /v1/uploads with kind "image"), or leave the text part out: it is derived from the HTML.',
    { details: [{ path: 'html', problem: `${bytes} bytes stored, over ${AWS_LIMITS.dynamoItemBytes}` }] },
  );
}

export class TemplateStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * Loads the stored templates `content` uses as partials (core/templates/partials.ts), latest unless
   * `pins` (a campaign's recorded versions) or the reference (`footer@3`) names a version. Once per
   * template or campaign: the result is rendered from memory.
   */
  async partials(
    content: TemplateParts,
    options: { selfId?: string | undefined; pins?: PartialPins | undefined } = {},
  ): Promise<ResolvedPartials> {
    const load = async (id: string, version?: number): Promise<PartialSource> => this.get(id, version);
    return resolvePartials(content, load, parseTemplatePart, options);
  }

  /** Validates the liquid (and loads its partials: they must exist) and stores it as the next version of `id`. */
  async save(id: string, input: TemplateInput): Promise<TemplateRecord> {
    const content = parseWith(TemplateInputSchema, input, 'template');
    const compiled = compileTemplate(content, await this.partials(content, { selfId: id }));
    assertTextVariables(compiled);
    const latest = await this.latest(id);
    for (let version = (latest?.version ?? 0) + 1; ; version++) {
      const record: TemplateRecord = {
        ...content,
        id,
        version,
        variables: compiled.variables,
        createdAt: this.clock().toISOString(),
      };
      assertStorable(record);
      try {
        await this.ddb.send(
          new PutCommand({
            TableName: this.table,
            Item: record,
            ConditionExpression: 'attribute_not_exists(id)',
          }),
        );
        return record;
      } catch (error) {
        // Two saves raced for the same version number: take the next one.
        if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      }
    }
  }

  async latest(id: string): Promise<TemplateRecord | undefined> {
    const out = await this.ddb.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'id = :id',
        ExpressionAttributeValues: { ':id': id },
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    return out.Items?.[0] as TemplateRecord | undefined;
  }

  async get(id: string, version?: number): Promise<TemplateRecord> {
    const record =
      version === undefined
        ? await this.latest(id)
        : ((await this.ddb.send(new GetCommand({ TableName: this.table, Key: { id, version } }))).Item as
            | TemplateRecord
            | undefined);
    if (!record) {
      throw new NotFoundError(
        version === undefined ? `No template "${id}".` : `Template "${id}" has no version ${version}.`,
        { details: { templateId: id, ...(version === undefined ? {} : { version }) } },
      );
    }
    return record;
  }

  /** The latest version of every template, by id. Reads the whole table: templates are few and small. */
  async list(): Promise<TemplateSummary[]> {
    const latest = new Map<string, TemplateSummary>();
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.ddb.send(
        new ScanCommand({
          TableName: this.table,
          ProjectionExpression: 'id, version, #name, subject, variables, createdAt',
          ExpressionAttributeNames: { '#name': 'name' },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of (out.Items ?? []) as TemplateRecord[]) {
        const seen = latest.get(item.id);
        if (!seen || seen.version < item.version) latest.set(item.id, summary(item));
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return [...latest.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Every version of a template, newest first. */
  async versions(id: string): Promise<TemplateSummary[]> {
    const items = await queryAll(this.ddb, {
      TableName: this.table,
      KeyConditionExpression: 'id = :id',
      ExpressionAttributeValues: { ':id': id },
      ScanIndexForward: false,
    });
    const versions = (items as TemplateRecord[]).map(summary);
    if (versions.length === 0)
      throw new NotFoundError(`No template "${id}".`, { details: { templateId: id } });
    return versions;
  }

  /** Deletes every version of a template; returns how many there were. */
  async delete(id: string): Promise<number> {
    const versions = await this.versions(id);
    await batchDelete(
      this.ddb,
      this.table,
      versions.map((v) => ({ id, version: v.version })),
    );
    return versions.length;
  }
}
