/** Templates in DynamoDB: every save is a new immutable version; campaigns pin the version they use. */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { NotFoundError } from './errors.ts';
import { parseWith, type TemplateInput, TemplateInputSchema, type TemplateRecord } from './schemas.ts';
import { compileTemplate } from './template.ts';

export class TemplateStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Validates the liquid and stores it as the next version of `id`. */
  async save(id: string, input: TemplateInput): Promise<TemplateRecord> {
    const content = parseWith(TemplateInputSchema, input, 'template');
    const compiled = compileTemplate(content);
    const latest = await this.latest(id);
    for (let version = (latest?.version ?? 0) + 1; ; version++) {
      const record: TemplateRecord = {
        ...content,
        id,
        version,
        variables: compiled.variables,
        createdAt: this.clock().toISOString(),
      };
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
}
