/**
 * The local engine restarted on the same data folder picks up a scheduled campaign whose time passed while
 * it was down: it starts at once, and its status says how late it started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCampaign } from '../../core/campaigns/service.ts';
import { type SesStandin, startSesStandin } from '../../local/ses-standin.ts';
import { startLocalStack } from '../../local/stack.ts';
import {
  address,
  BASE_REQUEST,
  expectEachExactly,
  recipientsCsv,
  TEMPLATE,
  waitFor,
} from '../support/guarantees.ts';
import { saveTemplate, uploadCsv } from '../support/local-stack.ts';

describe('restart pickup of a schedule that passed while the engine was down', () => {
  let standin: SesStandin;
  let dataDir: string;

  beforeAll(async () => {
    standin = await startSesStandin();
    dataDir = mkdtempSync(join(tmpdir(), 'sixback-restart-'));
  });
  afterAll(async () => {
    await standin?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts it at once on restart and records startedLateBySeconds', { timeout: 120_000 }, async () => {
    const options = { dataDir, sesEndpoint: standin.url };
    const first = await startLocalStack(options);
    let id: string;
    let sendAt: number;
    try {
      await saveTemplate(first, 'plain', TEMPLATE);
      const recipientsKey = await uploadCsv(first, 'scheduled.csv', recipientsCsv(20));
      sendAt = Date.now() + 2000;
      const created = await createCampaign(
        { ...BASE_REQUEST, recipientsKey, sendAt: new Date(sendAt).toISOString() },
        first.campaignDeps,
      );
      id = created.id;
      await waitFor('the campaign scheduled', async () =>
        (await first.deps.campaigns.get(id)).status === 'scheduled' ? true : undefined,
      );
    } finally {
      await first.stop();
    }
    // Nothing went out before the send time, and the stopped stack sends nothing.
    expect(standin.accepted).toBe(0);

    // Down past the send time, by more than the ten seconds that count as late: rather than sleep 12 s,
    // the restarted stack's clock reads 10.5 s past the send time, and for its engine the Wait on the
    // send time is over (as it would be for the real clock by then).
    const skew = Math.max(0, sendAt + 10_500 - Date.now());
    const second = await startLocalStack({
      ...options,
      clock: () => new Date(Date.now() + skew),
      waitTimeOverrides: { WaitUntilSendTime: 0 },
    });
    try {
      expect(second.restarted.map((c) => c.id)).toEqual([id]);
      const execution = second.engine.list()[0];
      expect(execution?.name).toBe(`${id}-run2`);
      await second.engine.wait(execution?.executionArn as string);
      const done = await second.deps.campaigns.get(id);
      expect(done.status).toBe('completed');
      expect(done.startedLateBySeconds).toBeGreaterThanOrEqual(10);
      expect(Date.parse(done.startedAt as string)).toBeGreaterThan(sendAt + 10_000);
      expectEachExactly(
        standin.counts(),
        Array.from({ length: 20 }, (_, i) => address(i + 1)),
      );
    } finally {
      await second.stop();
    }
  });
});
