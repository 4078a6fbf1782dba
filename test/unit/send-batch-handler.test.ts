/**
 * The SendBatch Lambda handler, built by the same composition root as in production, with the AWS clients
 * mocked (aws-sdk-client-mock): what reaches SES, what reaches the ledger, and what comes back per row.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SFNClient } from '@aws-sdk/client-sfn';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { createAppDeps } from '../../core/app.ts';
import { AWS_LIMITS } from '../../core/aws/limits.ts';
import { MAX_BATCH_SIZE } from '../../core/campaigns/plan.ts';
import { parseConfig } from '../../core/config.ts';
import { packVars, preparedLine } from '../../core/recipients/scanner.ts';
import type { PreparedRow, SendBatchResult } from '../../core/schemas.ts';
import { fitOutcomes } from '../../core/sending/outcomes.ts';
import { createHandler } from '../../handlers/send-batch.ts';

const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
const ses = new SESv2Client({ region: 'us-east-1', credentials });
const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials }));
const sesMock = mockClient(ses);
const ddbMock = mockClient(ddb);

// The SDK path (the thin transports are the default): this test drives the handler through mocked SDK clients.
const config = parseConfig({
  bucket: 'sixback-test',
  tables: {
    templates: 'templates',
    campaigns: 'campaigns',
    ledger: 'ledger',
    suppression: 'suppression',
    analytics: 'analytics',
  },
  sesTransport: 'sdk',
  dynamoTransport: 'sdk',
});
const deps = createAppDeps(config, {
  clients: {
    s3: new S3Client({ region: 'us-east-1', credentials }),
    ddb,
    ses,
    sfn: new SFNClient({ region: 'us-east-1', credentials }),
  },
});
deps.sender.sleep = async () => undefined;
const handler = createHandler(deps);

const TEMPLATE = {
  id: 'welcome',
  version: 3,
  subject: 'Hello {{ first_name }}',
  html: '<p>Hi {{ first_name }} from {{ company }}</p>',
  text: 'Hi {{ first_name }}',
  variables: ['company', 'first_name'],
  createdAt: '2026-11-25T00:00:00.000Z',
};

/** Builds Map items exactly as the ItemReader yields the prepared file: every value a string. */
function item(index: number, row: PreparedRow) {
  const [r, state, email, note, vars] = preparedLine(row).trim().split(',');
  return { index, row: { row: r, state, email, note, vars } };
}

function batch(rows: PreparedRow[]) {
  return {
    BatchInput: {
      campaignId: 'c1',
      templateId: 'welcome',
      templateVersion: 3,
      from: 'news@sixback.example',
      replyTo: [],
      data: { company: 'sixback' },
      workerRate: 10_000,
    },
    Items: rows.map((row, index) => item(index, row)),
  };
}

const ok = (row: number, email: string, first: string): PreparedRow => ({
  row,
  state: 'ok',
  email,
  note: '',
  vars: packVars({ email, first_name: first }),
});

let ledgerWrites: { key: string; messageId: string }[];
let ledgerKnown: Record<string, string>;
let suppressed: string[];

beforeEach(() => {
  sesMock.reset();
  ddbMock.reset();
  ledgerWrites = [];
  ledgerKnown = {};
  suppressed = [];
  ddbMock.on(GetCommand, { TableName: 'templates' }).resolves({ Item: TEMPLATE });
  ddbMock.on(QueryCommand).resolves({ Items: [TEMPLATE] });
  ddbMock
    .on(BatchGetCommand)
    .callsFake(async (input: { RequestItems: Record<string, { Keys: Record<string, string>[] }> }) => {
      const [table, request] = Object.entries(input.RequestItems)[0] as [
        string,
        { Keys: Record<string, string>[] },
      ];
      const found =
        table === 'ledger'
          ? request.Keys.filter((k) => ledgerKnown[k.key as string]).map((k) => ({
              ...k,
              messageId: ledgerKnown[k.key as string],
              row: 0,
            }))
          : request.Keys.filter((k) => suppressed.includes(k.key as string));
      return { Responses: { [table]: found } };
    });
  ddbMock
    .on(BatchWriteCommand)
    .callsFake(
      async (input: {
        RequestItems: Record<string, { PutRequest: { Item: { key: string; messageId: string } } }[]>;
      }) => {
        for (const put of input.RequestItems.ledger ?? []) ledgerWrites.push(put.PutRequest.Item);
        return {};
      },
    );
  ddbMock.on(UpdateCommand).resolves({});
});

describe('SendBatch handler', () => {
  it('keeps its result under the 256 KiB state payload limit however long the failure reasons are', async () => {
    const long = `The message was refused: ${'because '.repeat(250)}`;
    sesMock
      .on(SendEmailCommand)
      .rejects(
        Object.assign(new Error(long), { name: 'MessageRejected', $metadata: { httpStatusCode: 400 } }),
      );
    // A full batch: the most rows the plan puts in one.
    const rows = Array.from({ length: MAX_BATCH_SIZE }, (_, i) =>
      ok(i + 2, `recipient-${i}@example.com`, `R${i}`),
    );
    const result = (await handler(batch(rows))) as SendBatchResult;
    expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThanOrEqual(AWS_LIMITS.statePayloadBytes);
    // Every row keeps its outcome; only the reasons are shortened, all to the same length, with a mark.
    expect(result.outcomes).toHaveLength(MAX_BATCH_SIZE);
    expect(new Set(result.outcomes.map((o) => o.state))).toEqual(new Set(['failed']));
    const reasons = new Set(result.outcomes.map((o) => o.reason));
    expect(reasons.size).toBe(1);
    const [reason] = [...reasons] as [string];
    expect(reason.endsWith('…')).toBe(true);
    expect(`MessageRejected: ${long}`.startsWith(reason.slice(0, -1))).toBe(true);
    expect(reason.length).toBeGreaterThan(100);
  });

  it('leaves a result that fits as it is', async () => {
    const result = fitOutcomes({
      campaignId: 'c1',
      outcomes: [{ i: 0, row: 2, email: 'a@example.com', state: 'failed', reason: 'x'.repeat(5000) }],
    });
    expect(result.outcomes[0]?.reason).toHaveLength(5000);
  });

  it('renders and sends each recipient once, and reports one outcome per row', async () => {
    let n = 0;
    sesMock.on(SendEmailCommand).callsFake(async () => ({ MessageId: `m-${++n}` }));
    const result = (await handler(
      batch([
        ok(2, 'ada@example.com', '<Ada>'),
        { row: 3, state: 'invalid', email: 'nope', note: 'has no user@domain form', vars: '' },
        { row: 4, state: 'duplicate', email: 'ada@example.com', note: 'same address as row 2', vars: '' },
        ok(5, 'grace@example.com', 'Grace'),
      ]),
    )) as SendBatchResult;

    expect(result.outcomes.map((o) => [o.row, o.state])).toEqual([
      [2, 'sent'],
      [3, 'invalid'],
      [4, 'duplicate'],
      [5, 'sent'],
    ]);
    expect(result.outcomes[1]?.reason).toBe('has no user@domain form');
    const calls = sesMock.commandCalls(SendEmailCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    const toAda = calls.find((c) => c.Destination?.ToAddresses?.[0] === 'ada@example.com');
    expect(toAda?.FromEmailAddress).toBe('news@sixback.example');
    expect(toAda?.Content?.Simple?.Subject?.Data).toBe('Hello <Ada>');
    expect(toAda?.Content?.Simple?.Body?.Html?.Data).toBe('<p>Hi &lt;Ada&gt; from sixback</p>');
    expect(toAda?.EmailTags).toEqual([{ Name: 'campaign', Value: 'c1' }]);
    expect(ledgerWrites.map((w) => w.key).sort()).toEqual(['ada@example.com', 'grace@example.com']);
  });

  it('skips suppressed addresses and rows the ledger already has (a retried batch)', async () => {
    ledgerKnown = { 'ada@example.com': 'm-earlier' };
    suppressed = ['grace@example.com'];
    sesMock.on(SendEmailCommand).resolves({ MessageId: 'm-new' });
    const result = (await handler(
      batch([
        ok(2, 'Ada@Example.com', 'Ada'),
        ok(3, 'grace@example.com', 'Grace'),
        ok(4, 'tim@example.com', 'Tim'),
      ]),
    )) as SendBatchResult;
    expect(result.outcomes.map((o) => [o.email, o.state, o.messageId])).toEqual([
      ['Ada@Example.com', 'sent', 'm-earlier'],
      ['grace@example.com', 'suppressed', undefined],
      ['tim@example.com', 'sent', 'm-new'],
    ]);
    expect(
      sesMock.commandCalls(SendEmailCommand).map((c) => c.args[0].input.Destination?.ToAddresses?.[0]),
    ).toEqual(['tim@example.com']);
  });

  it('records a rejected message as failed and sends the rest', async () => {
    sesMock
      .on(SendEmailCommand, { Destination: { ToAddresses: ['bad@example.com'] } })
      .rejects(
        Object.assign(new Error('Email address is not verified.'), {
          name: 'MessageRejected',
          $metadata: { httpStatusCode: 400 },
        }),
      )
      .on(SendEmailCommand, { Destination: { ToAddresses: ['good@example.com'] } })
      .resolves({ MessageId: 'm-good' });
    const result = (await handler(
      batch([ok(2, 'bad@example.com', 'B'), ok(3, 'good@example.com', 'G')]),
    )) as SendBatchResult;
    expect(result.outcomes).toEqual([
      {
        i: 0,
        row: 2,
        email: 'bad@example.com',
        state: 'failed',
        reason: 'MessageRejected: Email address is not verified.',
      },
      { i: 1, row: 3, email: 'good@example.com', state: 'sent', messageId: 'm-good' },
    ]);
  });

  it('retries throttling, then fails the batch with SesThrottledError after recording what was sent', async () => {
    const throttled = Object.assign(new Error('Maximum sending rate exceeded.'), {
      name: 'TooManyRequestsException',
      $metadata: { httpStatusCode: 429 },
    });
    sesMock
      .on(SendEmailCommand, { Destination: { ToAddresses: ['first@example.com'] } })
      .resolves({ MessageId: 'm-first' })
      .on(SendEmailCommand, { Destination: { ToAddresses: ['slow@example.com'] } })
      .rejects(throttled);
    deps.sender.maxInFlight = 1;
    try {
      await expect(
        handler(batch([ok(2, 'first@example.com', 'F'), ok(3, 'slow@example.com', 'S')])),
      ).rejects.toMatchObject({
        name: 'SesThrottledError',
      });
    } finally {
      deps.sender.maxInFlight = config.maxInFlight;
    }
    // Four attempts for the throttled address, and the accepted one is in the ledger before the batch fails.
    expect(
      sesMock.commandCalls(SendEmailCommand, { Destination: { ToAddresses: ['slow@example.com'] } }),
    ).toHaveLength(4);
    expect(ledgerWrites.map((w) => [w.key, w.messageId])).toEqual([['first@example.com', 'm-first']]);
  });

  it('stops the batch at once when SES sending is paused', async () => {
    sesMock.on(SendEmailCommand).rejects(
      Object.assign(new Error('Sending paused for this account.'), {
        name: 'SendingPausedException',
        $metadata: { httpStatusCode: 400 },
      }),
    );
    deps.sender.maxInFlight = 1;
    try {
      await expect(
        handler(batch([ok(2, 'a@example.com', 'A'), ok(3, 'b@example.com', 'B')])),
      ).rejects.toMatchObject({
        name: 'SesSendingStoppedError',
      });
    } finally {
      deps.sender.maxInFlight = config.maxInFlight;
    }
    expect(sesMock.commandCalls(SendEmailCommand)).toHaveLength(1);
  });

  it('refuses a malformed batch with a validation error naming the field', async () => {
    await expect(handler({ BatchInput: { campaignId: 'c1' }, Items: [] })).rejects.toThrow(
      /Invalid batch: BatchInput.templateId/,
    );
  });
});
