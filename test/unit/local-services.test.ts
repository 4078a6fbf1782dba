import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetAccountCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningService, startSes } from '../../local/services.ts';

describe('the local SES', () => {
  let ses: RunningService;
  const directory = mkdtempSync(join(tmpdir(), 'sixback-ses-'));
  beforeAll(async () => {
    ses = await startSes({ directory, quota: { max24HourSend: 5000, maxSendRate: 42 } });
  });
  afterAll(async () => {
    await ses?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('answers GetAccount with the configured quota, as the quota checks and doctor read it', async () => {
    const client = new SESv2Client({
      region: 'us-east-1',
      endpoint: ses.url,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const account = await client.send(new GetAccountCommand({}));
    expect(account.SendQuota).toEqual({ Max24HourSend: 5000, MaxSendRate: 42, SentLast24Hours: 0 });
    expect(account.ProductionAccessEnabled).toBe(true);
    expect(account.SendingEnabled).toBe(true);
    client.destroy();
  });
});

describe('clients for a mixed stack (some services local, some real AWS)', () => {
  it('give the local credentials to local services only', async () => {
    const { createClients } = await import('../../core/aws/clients.ts');
    const { parseConfig } = await import('../../core/config.ts');
    const clients = createClients(
      parseConfig({
        endpoints: { s3: 'http://127.0.0.1:4568', dynamodb: 'http://127.0.0.1:4567' },
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        bucket: 'sixback-test',
        tables: { templates: 't', campaigns: 'c', ledger: 'l', suppression: 's', analytics: 'a' },
      }),
    );
    const s3Key = (await clients.s3.config.credentials()).accessKeyId;
    expect(s3Key).toBe('S3RVER');
    // SES has no endpoint override: it is real SES, so it must not be handed the local key.
    process.env.AWS_ACCESS_KEY_ID = 'AKIAREALCHAIN';
    process.env.AWS_SECRET_ACCESS_KEY = 'real-secret';
    try {
      expect((await clients.ses.config.credentials()).accessKeyId).toBe('AKIAREALCHAIN');
    } finally {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  });
});
