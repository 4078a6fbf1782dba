import { GetAccountCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningService, startSes } from '../../local/services.ts';

describe('the local SES', () => {
  let ses: RunningService;
  beforeAll(async () => {
    ses = await startSes(0, { max24HourSend: 5000, maxSendRate: 42 });
  });
  afterAll(() => ses?.close());

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
