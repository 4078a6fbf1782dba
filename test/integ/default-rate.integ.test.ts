/** The local stack gives a campaign without a rate the same default the API on AWS does. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import { startTestStack } from '../support/local-stack.ts';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startTestStack({ defaultRate: 50, sesQuota: { max24HourSend: 100_000, maxSendRate: 20 } });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('the local default rate', () => {
  it('is the configured default capped by the local SES quota, as on AWS', async () => {
    expect(stack.config.defaultRate).toBe(50);
    expect(await stack.campaignDeps.defaultRate()).toBe(20);
  });
});
