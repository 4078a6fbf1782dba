/**
 * CampaignStore.transition when another writer moves the status between its read and its write (the
 * user cancelling while Prepare makes the campaign scheduled or sending): dynalite behind a client that
 * lets the other writer's transitions in just before the store's conditional write.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampaignStatus } from '../../core/campaigns/status.ts';
import { CampaignStore } from '../../core/campaigns/store.ts';
import { IllegalTransitionError } from '../../core/errors.ts';
import { campaignRecord } from '../support/campaign-record.ts';
import { startTestTables, type TestTables } from '../support/dynalite.ts';

const TABLES = { campaigns: 'cmp-transition', analytics: 'an-transition' };
const clock = () => new Date('2026-12-01T10:00:00Z');

let tables: TestTables;
let raw: DynamoDBDocumentClient;
let n = 0;

beforeAll(async () => {
  tables = await startTestTables(TABLES);
  raw = tables.documents;
});

afterAll(async () => {
  await tables?.close();
});

/**
 * A store whose first `races` conditional status writes are each preceded by the other writer's next
 * move (`moves`, in order), made through a store of its own on the same table.
 */
function racedStore(moves: CampaignStatus[][]): { store: CampaignStore; writes: () => number } {
  const other = new CampaignStore(raw, TABLES.campaigns, clock, TABLES.analytics);
  let writes = 0;
  const pending = [...moves];
  const client = new Proxy(raw, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver);
      return async (command: unknown, ...rest: unknown[]) => {
        if (command instanceof UpdateCommand && command.input.ConditionExpression === '#status = :from') {
          writes++;
          const steps = pending.shift() ?? [];
          const id = (command.input.Key as { id: string }).id;
          for (const to of steps) await other.transition(id, to);
        }
        return (target.send as (...args: unknown[]) => unknown).call(target, command, ...rest);
      };
    },
  });
  return {
    store: new CampaignStore(client as DynamoDBDocumentClient, TABLES.campaigns, clock, TABLES.analytics),
    writes: () => writes,
  };
}

async function campaignIn(status: CampaignStatus): Promise<string> {
  const id = `c-transition-${++n}`;
  await new CampaignStore(raw, TABLES.campaigns, clock, TABLES.analytics).create(
    campaignRecord({ id, status }),
  );
  return id;
}

const CANCELLABLE: CampaignStatus[] = ['pending', 'scheduled', 'sending'];

describe('a transition raced by another writer', () => {
  it('is made from the status the other writer left, when that is still one it may start from', async () => {
    const id = await campaignIn('pending');
    // Prepare makes it scheduled just before the cancel's write, then sending before its second one.
    const { store, writes } = racedStore([['scheduled'], ['sending']]);
    const cancelled = await store.transition(id, 'cancelled', { statusReason: 'by the user' }, CANCELLABLE);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.statusReason).toBe('by the user');
    expect(writes()).toBe(3);
    const stored = await new CampaignStore(raw, TABLES.campaigns, clock, TABLES.analytics).get(id);
    expect(stored.status).toBe('cancelled');
  });

  it('is refused, naming the status, when the other writer took it where it may not start from', async () => {
    const id = await campaignIn('pending');
    const { store } = racedStore([['sending', 'completed']]);
    const error = await store
      .transition(id, 'cancelled', {}, CANCELLABLE)
      .catch((e: unknown) => e as IllegalTransitionError);
    expect(error).toBeInstanceOf(IllegalTransitionError);
    expect((error as IllegalTransitionError).details).toMatchObject({ status: 'completed' });
    const stored = await new CampaignStore(raw, TABLES.campaigns, clock, TABLES.analytics).get(id);
    expect(stored.status).toBe('completed');
  });

  it('without a list of starting statuses, any change meanwhile refuses it', async () => {
    const id = await campaignIn('pending');
    const { store, writes } = racedStore([['scheduled']]);
    const error = await store.transition(id, 'sending').catch((e: unknown) => e as IllegalTransitionError);
    expect(error).toBeInstanceOf(IllegalTransitionError);
    expect((error as IllegalTransitionError).details).toMatchObject({
      status: 'scheduled',
      wanted: 'sending',
    });
    expect(writes()).toBe(1);
  });

  it('gives up after a bounded number of tries when the status keeps moving within the list', async () => {
    const id = await campaignIn('pending');
    // Every write is raced, and each move leaves a status of the list (scheduled, then back to pending
    // the only legal way, through failed and a resume), so only the bound stops it.
    const { store, writes } = racedStore([
      ['scheduled'],
      ['failed', 'pending'],
      ['scheduled'],
      ['failed', 'pending'],
      ['scheduled'],
    ]);
    const error = await store
      .transition(id, 'cancelled', {}, ['pending', 'scheduled', 'failed'])
      .catch((e: unknown) => e as IllegalTransitionError);
    expect(error).toBeInstanceOf(IllegalTransitionError);
    expect(writes()).toBe(5);
  });
});
