/**
 * `sixback smoke` against a throwaway `sixback dev`, both as child processes, as a user runs them: the
 * smoke test must pass on a working stack, every check must be backed by what the API shows afterwards,
 * and it must leave no simulator address on the suppression list.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sixback as cli, type DevProcess, lastJson, startDev } from '../support/cli-process.ts';

const sixback = (args: string[], cwd: string) => cli(args, { cwd, timeoutMs: 120_000 });

describe('sixback smoke against sixback dev', () => {
  let dir: string;
  let dev: DevProcess | undefined;
  let api: { url: string; token: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sixback-smoke-'));
    dev = await startDev(['--ephemeral', '--port', '0'], { cwd: dir });
    api = dev.info;
  }, 60_000);
  afterAll(async () => {
    await dev?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const get = async (path: string) =>
    fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${api.token}` } });

  it('passes every check, each backed by what the API shows, and cleans up the suppression list', async () => {
    const run = await sixback(['smoke', '-f', 'smoke@sixback.example', '--timeout', '90', '--json'], dir);
    expect(run.stderr).toBe('');
    const result = lastJson(run.stdout);
    expect(result.checks.filter((c: { ok: boolean }) => !c.ok)).toEqual([]);
    expect(run.code).toBe(0);
    expect(result.ok).toBe(true);
    expect(result.checks.map((c: { name: string }) => c.name)).toEqual([
      'API reachable and authorised',
      'campaign sent to all 4 simulator addresses',
      'success@: delivered',
      'bounce@: bounced and suppressed',
      'complaint@: complained and suppressed',
      'suppressionlist@: bounced and suppressed',
      'unsubscribe link: GET does not unsubscribe',
      'unsubscribe link: one-click POST unsubscribes',
    ]);

    // The campaign the smoke test sent shows the simulator's outcomes through the API.
    const campaign = await (await get(`/v1/campaigns/${result.campaignId}`)).json();
    expect(campaign).toMatchObject({ status: 'completed', progress: { counts: { sent: 4 } } });
    expect(campaign.deliverability.events).toMatchObject({
      delivery: 2,
      bounce: 2,
      complaint: 1,
      unsubscribe: 1,
    });
    // Nothing left behind: the four addresses are off the suppression list again.
    for (const address of Object.values(result.addresses) as string[]) {
      expect((await get(`/v1/suppression/${encodeURIComponent(address)}`)).status).toBe(404);
    }

    // For people: a table and the verdict; a second run is independent of the first (new labels).
    const table = await sixback(['smoke', '-f', 'smoke@sixback.example', '--timeout', '90'], dir);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^PASS\s+bounce@: bounced and suppressed/m);
    expect(table.stdout).toMatch(/smoke test passed: 8 of 8 checks/);
  }, 200_000);

  it('fails with exit 1 and says what to fix when the campaign cannot be created', async () => {
    const run = await sixback(['smoke', '-f', 'not-an-address', '--json'], dir);
    expect(run.code).toBe(1);
    const result = lastJson(run.stdout);
    expect(result.ok).toBe(false);
    const failed = result.checks.find((c: { ok: boolean }) => !c.ok);
    expect(failed).toMatchObject({ name: 'campaign created', ok: false });
    expect(failed.fix).toMatch(/verified SES identity/);
  }, 60_000);
});
