/**
 * A real crash: the local stack runs in a child process on a persistent data folder and is killed with
 * SIGKILL in the middle of a campaign. Restarted on the same folder, it picks the campaign up and resumes
 * it through the ledger. The SES stand-in runs in this process and counts per recipient: nobody may be
 * missing, and duplicates may only be the messages SES accepted whose ledger group had not been written
 * when the process died (docs/guarantees.md bounds that window).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SesStandin, startSesStandin } from '../../local/ses-standin.ts';
import { ChildStack } from '../support/child-stack.ts';
import {
  address,
  allSent,
  BASE_REQUEST,
  countStates,
  recipientsCsv,
  TEMPLATE,
  waitFor,
} from '../support/guarantees.ts';
import { parseReport } from '../support/local-stack.ts';

const ROWS = 4000;
const MAX_IN_FLIGHT = 16;
const LEDGER_GROUP = 25;

describe('the engine killed mid-campaign, then restarted on the same data folder', () => {
  let standin: SesStandin;
  let dataDir: string;
  const children: ChildStack[] = [];

  beforeAll(async () => {
    standin = await startSesStandin({ latencyMs: 2, quota: { max24HourSend: 1_000_000, maxSendRate: 1000 } });
    dataDir = mkdtempSync(join(tmpdir(), 'sixback-crash-'));
  });
  afterAll(async () => {
    for (const child of children) await child.kill();
    await standin?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('resumes the campaign after kill -9: nobody missing, duplicates within the documented window', async () => {
    const options = { dataDir, sesEndpoint: standin.url, maxInFlight: MAX_IN_FLIGHT };
    const first = await ChildStack.start(options);
    children.push(first);
    const id = await first.create({ ...BASE_REQUEST, rate: 600 }, recipientsCsv(ROWS), TEMPLATE);

    // Kill it once a good part, but not all, of the campaign is out.
    await waitFor(
      'a third of the campaign sent',
      () => standin.accepted >= ROWS / 3 || undefined,
      120_000,
      5,
    );
    const before = await first.get(id);
    await first.kill();
    const acceptedAtKill = standin.accepted;
    expect(before.status).toBe('sending');
    expect(acceptedAtKill).toBeLessThan(ROWS);

    const second = await ChildStack.start(options);
    children.push(second);
    expect(second.restarted).toEqual([id]);
    const done = await second.waitFinal(id);
    const csv = await second.report(id);
    await second.stop();

    expect(done.status).toBe('completed');
    expect(done.executions).toBe(2);
    expect(done.totals).toEqual(allSent(ROWS));

    const counts = standin.counts();
    const missing = Array.from({ length: ROWS }, (_, i) => address(i + 1)).filter((a) => !counts.get(a));
    expect(missing).toEqual([]);
    const duplicates = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
    // The window: per batch running at the kill, the sends in flight plus two ledger groups.
    const window = (before.plan?.maxConcurrency ?? 1) * (MAX_IN_FLIGHT + 2 * LEDGER_GROUP);
    console.log(
      `crash test: killed at ${acceptedAtKill} accepted; ${duplicates} duplicates (window ${window}); ` +
        `max per address ${Math.max(...counts.values())}`,
    );
    expect(duplicates).toBeLessThanOrEqual(window);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(2);
    expect(counts.size).toBe(ROWS);

    const rows = parseReport(csv);
    expect(rows).toHaveLength(ROWS);
    expect(countStates(rows)).toEqual({ sent: ROWS });
  });
});
