/**
 * Campaign creation reads the recipients CSV once and writes the prepared file; Prepare uses that file
 * without reading the upload again, but only while the upload is still the object creation read (its
 * ETag). A file replaced or deleted in between is refused with RecipientsChangedError and nothing is sent;
 * a resume checks and sends the new file. A refused creation leaves no prepared file behind.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CampaignServiceDeps } from '../../core/campaigns/deps.ts';
import type { SendQuota } from '../../core/campaigns/quota.ts';
import { resumeCampaign } from '../../core/campaigns/runs.ts';
import { campaignIdForKey, createCampaign, newCampaignId } from '../../core/campaigns/service.ts';
import { keys } from '../../core/config.ts';
import {
  RecipientsChangedError,
  RecipientsFileError,
  UnsubscribeLinkMissingError,
} from '../../core/errors.ts';
import { prepareCampaign } from '../../core/workflow/prepare.ts';
import { type SesStandin, startSesStandin } from '../../local/ses-standin.ts';
import type { LocalStack } from '../../local/stack.ts';
import {
  address,
  BASE_REQUEST,
  countStates,
  expectEachExactly,
  recipientsCsv,
  reportRows,
  TEMPLATE,
} from '../support/guarantees.ts';
import { readObject, saveTemplate, startTestStack, uploadCsv } from '../support/local-stack.ts';
import { waitFor } from '../support/wait.ts';

/** Every GetObject key an S3 client is asked for, so a test can tell whether the upload was read. */
function recordingReads(s3: S3Client): { client: S3Client; reads: string[] } {
  const reads: string[] = [];
  const client = new Proxy(s3, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return (command: { input: { Key?: string } }, ...rest: unknown[]) => {
        if (command instanceof GetObjectCommand) reads.push(command.input.Key ?? '');
        return (target.send as (...args: unknown[]) => unknown).call(target, command, ...rest);
      };
    },
  });
  return { client, reads };
}

describe('the prepared file written at creation', () => {
  let standin: SesStandin;
  let stack: LocalStack;
  let n = 0;
  /** Creation's deps with an orchestrator that records the start instead of running Prepare at once. */
  let held: CampaignServiceDeps;
  let startHeld: (campaignId: string) => Promise<string>;

  beforeAll(async () => {
    standin = await startSesStandin();
    stack = await startTestStack({ sesEndpoint: standin.url });
    await saveTemplate(stack, 'plain', TEMPLATE);
    await saveTemplate(stack, 'marketing', { subject: 'Hi', html: '<p>Hi {{ first_name }}</p>' });
    const starts = new Map<string, { name: string; input: { campaignId: string } }>();
    held = {
      ...stack.campaignDeps,
      orchestrator: {
        ...stack.campaignDeps.orchestrator,
        start: async (name, input) => {
          starts.set(input.campaignId, { name, input });
          return { executionArn: `held:${name}` };
        },
      },
    };
    // Starts the held execution on the real engine, as createCampaign would have, and waits for its end.
    startHeld = async (campaignId) => {
      const start = starts.get(campaignId);
      if (!start) throw new Error(`no held start for ${campaignId}`);
      const { executionArn } = await stack.campaignDeps.orchestrator.start(start.name, start.input);
      await stack.deps.campaigns.patch(campaignId, { executionArn });
      await stack.engine.wait(executionArn);
      return executionArn;
    };
  });
  afterAll(async () => {
    await stack?.stop();
    await standin?.close();
  });
  beforeEach(() => standin.reset());

  const objectsUnder = async (prefix: string) =>
    (
      (
        await stack.deps.clients.s3.send(
          new ListObjectsV2Command({ Bucket: stack.config.bucket, Prefix: prefix }),
        )
      ).Contents ?? []
    ).map((o) => o.Key as string);

  it('creation records the check and the upload it read; Prepare uses its file without reading the upload', async () => {
    const csv = `${recipientsCsv(30)}${address(3)},again\nnot-an-address,x\n`;
    const recipientsKey = await uploadCsv(stack, `used-${++n}.csv`, csv);
    const created = await createCampaign({ ...BASE_REQUEST, recipientsKey }, held);
    expect(created.check).toMatchObject({ rows: 32, valid: 30, duplicates: 1, invalid: 1 });
    expect(created.prepared).toMatchObject({ writtenBy: 'creation', source: { key: recipientsKey } });
    expect(created.prepared?.source.etag).toMatch(/^"[^"]+"$/);
    const preparedKey = created.prepared?.key as string;
    expect(preparedKey.startsWith(keys.campaignPrefix(created.id))).toBe(true);
    expect(preparedKey).not.toBe(keys.prepared(created.id));
    const writtenAtCreation = await readObject(stack, preparedKey);
    expect(writtenAtCreation.split('\n').filter(Boolean)).toHaveLength(33);

    const { client, reads } = recordingReads(stack.deps.clients.s3);
    const out = await prepareCampaign({ campaignId: created.id }, { ...stack.deps.workflow, s3: client });
    expect(out.recipients.key).toBe(preparedKey);
    expect(reads, 'Prepare read no object: neither the upload nor the prepared file').toEqual([]);
    const after = await stack.deps.campaigns.get(created.id);
    expect(after.check).toEqual(created.check);
    expect(await readObject(stack, preparedKey)).toBe(writtenAtCreation);

    // And the whole campaign on the engine sends from it: each valid address once, every row reported.
    await startHeld(created.id);
    const done = await stack.deps.campaigns.get(created.id);
    expect(done.status).toBe('completed');
    expectEachExactly(
      standin.counts(),
      Array.from({ length: 30 }, (_, i) => address(i + 1)),
    );
    expect(countStates(await reportRows(stack, done))).toEqual({ sent: 30, duplicate: 1, invalid: 1 });
  });

  it("Prepare asks SES's quota while it reads the campaign and its files, and fits the rate to it", async () => {
    const recipientsKey = await uploadCsv(stack, `quota-${++n}.csv`, recipientsCsv(12));
    const created = await createCampaign({ ...BASE_REQUEST, recipientsKey, rate: 500 }, held);
    const events: string[] = [];
    let answer: (quota: SendQuota) => void = () => {};
    const quota = new Promise<SendQuota>((resolve) => {
      answer = resolve;
    });
    const s3 = new Proxy(stack.deps.clients.s3, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return (command: object, ...rest: unknown[]) => {
          events.push(command.constructor.name);
          return (target.send as (...args: unknown[]) => unknown).call(target, command, ...rest);
        };
      },
    });
    const prepared = prepareCampaign(
      { campaignId: created.id },
      {
        ...stack.deps.workflow,
        s3,
        sendQuota: () => {
          events.push('GetAccount');
          return quota;
        },
      },
    );
    // The files are checked while SES has not answered yet.
    await waitFor('the prepared file checked', () => events.includes('HeadObjectCommand'), 10_000, 5);
    expect(events[0]).toBe('GetAccount');
    answer({ max24HourSend: 1_000_000, maxSendRate: 40, sentLast24Hours: 0 });
    const out = await prepared;
    expect(out.plan.rate).toBeLessThanOrEqual(40);
  });

  it('the same bytes uploaded again keep their ETag: the campaign goes ahead', async () => {
    const csv = recipientsCsv(5);
    const recipientsKey = await uploadCsv(stack, `same-${++n}.csv`, csv);
    const created = await createCampaign({ ...BASE_REQUEST, recipientsKey }, held);
    await uploadCsv(stack, `same-${n}.csv`, csv);
    await startHeld(created.id);
    expect((await stack.deps.campaigns.get(created.id)).status).toBe('completed');
    expectEachExactly(
      standin.counts(),
      Array.from({ length: 5 }, (_, i) => address(i + 1)),
    );
  });

  it('refuses a file replaced after creation with RecipientsChangedError, sends nothing; a resume sends the new file', async () => {
    const recipientsKey = await uploadCsv(stack, `replaced-${++n}.csv`, recipientsCsv(10));
    const created = await createCampaign({ ...BASE_REQUEST, recipientsKey }, held);
    // Another list under the same key: rows 101-106, and one row of the old list.
    await uploadCsv(stack, `replaced-${n}.csv`, `${recipientsCsv(6, 101)}${address(1)},old\n`);

    const direct = await prepareCampaign({ campaignId: created.id }, stack.deps.workflow).catch(
      (error: unknown) => error,
    );
    expect(direct).toBeInstanceOf(RecipientsChangedError);
    expect((direct as Error).message).toMatch(/was replaced after the campaign was created \(ETag "/);
    const failed = await stack.deps.campaigns.get(created.id);
    expect(failed.status).toBe('failed');
    expect(failed.statusReason).toBe((direct as Error).message);

    // Through the state machine as well (Prepare -> RecordFailure -> Finalise): nothing mailed, and the
    // report names every row of the list that was checked (the 7 rows uploaded above) as not sent.
    const fresh = await createCampaign({ ...BASE_REQUEST, recipientsKey }, held);
    await uploadCsv(stack, `replaced-${n}.csv`, recipientsCsv(3, 201));
    await startHeld(fresh.id);
    const refused = await stack.deps.campaigns.get(fresh.id);
    expect(refused.status).toBe('failed');
    expect(refused.statusReason).toMatch(/was replaced after the campaign was created/);
    expect(standin.counts().size).toBe(0);
    const report = await reportRows(stack, refused);
    expect(report.map((r) => r.email)).toEqual([
      ...Array.from({ length: 6 }, (_, i) => address(101 + i)),
      address(1),
    ]);
    expect(countStates(report)).toEqual({ not_sent: 7 });

    // Resumed (nothing had been sent): the new file is read, checked and sent, each address once.
    const resumed = await resumeCampaign(fresh.id, stack.campaignDeps);
    await stack.engine.wait(resumed.executionArn as string);
    const sent = await stack.deps.campaigns.get(fresh.id);
    expect(sent.status).toBe('completed');
    expect(sent.check?.rows).toBe(3);
    expect(sent.prepared).toMatchObject({ writtenBy: 'prepare', key: keys.prepared(fresh.id) });
    expectEachExactly(standin.counts(), [address(201), address(202), address(203)]);
  });

  it('refuses a file deleted after creation with RecipientsChangedError', async () => {
    const recipientsKey = await uploadCsv(stack, `deleted-${++n}.csv`, recipientsCsv(4));
    const created = await createCampaign({ ...BASE_REQUEST, recipientsKey }, held);
    await stack.deps.clients.s3.send(
      new DeleteObjectCommand({ Bucket: stack.config.bucket, Key: recipientsKey }),
    );
    const error = await prepareCampaign({ campaignId: created.id }, stack.deps.workflow).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RecipientsChangedError);
    expect((error as Error).message).toMatch(/was deleted after the campaign was created/);
    expect((await stack.deps.campaigns.get(created.id)).status).toBe('failed');
  });

  it('a key naming no object gets one clear error, whether creation or Prepare finds it missing', async () => {
    const never = `never-uploaded-${++n}.csv`;
    const atCreation = await createCampaign({ ...BASE_REQUEST, recipientsKey: never }, held).catch(
      (e: unknown) => e,
    );
    expect(atCreation).toBeInstanceOf(RecipientsFileError);
    expect((atCreation as RecipientsFileError).details).toEqual({ key: never, problem: 'missing' });
    expect((atCreation as Error).message).toContain(`"${never}"`);
    expect((atCreation as Error).message).toMatch(/Upload the CSV/);

    // A record with no prepared file of its own (as before creation wrote one) is prepared from the
    // upload; if that upload has gone, Prepare says the same thing creation would have.
    const recipientsKey = await uploadCsv(stack, `gone-${n}.csv`, recipientsCsv(3));
    const created = await createCampaign({ ...BASE_REQUEST, recipientsKey }, held);
    const { check: _check, prepared: _prepared, executionArn: _arn, ...older } = created;
    const id = newCampaignId();
    await stack.deps.campaigns.create({ ...older, id });
    await stack.deps.clients.s3.send(
      new DeleteObjectCommand({ Bucket: stack.config.bucket, Key: recipientsKey }),
    );
    const atPrepare = await prepareCampaign({ campaignId: id }, stack.deps.workflow).catch((e: unknown) => e);
    expect(atPrepare).toBeInstanceOf(RecipientsFileError);
    expect((atPrepare as RecipientsFileError).details).toEqual({ key: recipientsKey, problem: 'missing' });
    expect((atPrepare as Error).message).toBe((atCreation as Error).message.replace(never, recipientsKey));
  });

  it('a creation refused by the file, or by a check after it, leaves no prepared file', async () => {
    // The bad row is the last of many, so the upload of the prepared file had begun when it was found.
    const bad = `${recipientsCsv(3000)}"unclosed,quote\n`;
    const badKey = await uploadCsv(stack, `bad-${++n}.csv`, bad);
    const idempotencyKey = `refused-file-${n}`;
    await expect(
      createCampaign({ ...BASE_REQUEST, recipientsKey: badKey }, held, { idempotencyKey }),
    ).rejects.toBeInstanceOf(RecipientsFileError);
    expect(await objectsUnder(keys.campaignPrefix(campaignIdForKey(idempotencyKey)))).toEqual([]);

    // A file that passes, for a marketing template without an unsubscribe link (checked after the file).
    const goodKey = await uploadCsv(stack, `good-${n}.csv`, recipientsCsv(20));
    const otherKey = `refused-later-${n}`;
    await expect(
      createCampaign({ templateId: 'marketing', from: BASE_REQUEST.from, recipientsKey: goodKey }, held, {
        idempotencyKey: otherKey,
      }),
    ).rejects.toBeInstanceOf(UnsubscribeLinkMissingError);
    expect(await objectsUnder(keys.campaignPrefix(campaignIdForKey(otherKey)))).toEqual([]);
  });

  it('a campaign created before creation wrote prepared files is prepared from the upload, as before', async () => {
    const recipientsKey = await uploadCsv(stack, `older-${++n}.csv`, recipientsCsv(7));
    const created = await createCampaign({ ...BASE_REQUEST, recipientsKey }, held);
    // What such a record looks like: no check, no prepared file named.
    const { check: _check, prepared: _prepared, executionArn: _arn, ...older } = created;
    const id = newCampaignId();
    await stack.deps.campaigns.create({ ...older, id });
    const out = await prepareCampaign({ campaignId: id }, stack.deps.workflow);
    expect(out.recipients.key).toBe(keys.prepared(id));
    const after = await stack.deps.campaigns.get(id);
    expect(after.check).toEqual(created.check);
    expect(after.prepared).toMatchObject({ writtenBy: 'prepare', source: created.prepared?.source });
    expect(await readObject(stack, keys.prepared(id))).toBe(
      await readObject(stack, created.prepared?.key as string),
    );
  });
});
