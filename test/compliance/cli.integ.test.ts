/**
 * `sixback suppression`, `sixback events inject` and `sixback doctor --local` as people and scripts run
 * them: child processes against a local API server, checking output, JSON and exit codes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiTest, startApiTest } from '../api/support.ts';
import { lastJson, sixback } from '../support/cli-process.ts';

describe('compliance commands', () => {
  let t: ApiTest;
  let dir: string;
  let connect: string[];

  beforeAll(async () => {
    t = await startApiTest();
    dir = mkdtempSync(join(tmpdir(), 'sixback-compliance-cli-'));
    connect = ['--api', t.server.url, '--token', t.server.token];
    writeFileSync(join(dir, 'old.csv'), 'email\nzed@example.com\nyan@example.com\nbroken\n');
  });
  afterAll(async () => {
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('adds, shows, lists, imports and removes suppressed addresses', async () => {
    const add = await sixback(['suppression', 'add', 'Ann@Example.com', 'bob@example.com', ...connect]);
    expect(add.stdout).toContain('suppressed ann@example.com (manual)');
    expect(add.code).toBe(0);

    const show = await sixback(['suppression', 'show', 'ann@example.com', ...connect]);
    expect(show.stdout).toMatch(/ann@example.com: manual \(source cli, since 20/);
    const missing = await sixback(['suppression', 'show', 'nobody@example.com', ...connect]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('not on the suppression list');

    const imported = await sixback([
      'suppression',
      'import',
      join(dir, 'old.csv'),
      '--reason',
      'unsubscribe',
      ...connect,
    ]);
    expect(imported.stdout).toContain('3 row(s) read, 2 address(es) suppressed, 1 invalid.');
    expect(imported.stdout).toContain('line 4:');
    // Some rows were refused: a script should notice.
    expect(imported.code).toBe(1);

    const list = await sixback(['suppression', 'list', '--all', '--limit', '2', '--json', ...connect]);
    expect(list.code).toBe(0);
    const items = lastJson(list.stdout).items as { key: string; reason: string; source: string }[];
    expect(items.map((i) => i.key).sort()).toEqual([
      'ann@example.com',
      'bob@example.com',
      'yan@example.com',
      'zed@example.com',
    ]);
    expect(items.find((i) => i.key === 'zed@example.com')).toMatchObject({
      reason: 'unsubscribe',
      source: 'import:old.csv',
    });
    const table = await sixback(['suppression', 'list', '--search', 'zed', ...connect]);
    expect(table.stdout).toMatch(
      /EMAIL\s+REASON\s+SOURCE\s+SINCE\nzed@example.com\s+unsubscribe\s+import:old.csv/,
    );

    expect((await sixback(['suppression', 'remove', 'bob@example.com', ...connect])).stdout).toContain(
      'removed bob@example.com',
    );
    expect(await t.stack.deps.suppression.get('bob@example.com')).toBeUndefined();
    const badReason = await sixback(['suppression', 'add', 'x@example.com', '--reason', 'spite', ...connect]);
    expect(badReason.code).toBe(2);
  });

  it('injects a hard bounce that lands on the suppression list', async () => {
    const out = await sixback([
      'events',
      'inject',
      '--type',
      'bounce',
      '--email',
      'cat@example.com',
      '--campaign',
      'c-none',
      ...connect,
    ]);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('suppressed: cat@example.com');
    expect(await t.stack.deps.suppression.get('cat@example.com')).toMatchObject({
      reason: 'bounce',
      source: 'ses:bounce:c-none',
    });
    const bad = await sixback([
      'events',
      'inject',
      '--type',
      'explode',
      '--email',
      'a@b.co',
      '--campaign',
      'c1',
      ...connect,
    ]);
    expect(bad.code).toBe(2);
  });

  it('doctor --local checks the local configuration and passes', async () => {
    const out = await sixback(['doctor', '--local', '--json']);
    const answer = lastJson(out.stdout) as { ok: boolean; checks: { name: string; status: string }[] };
    expect(answer.ok, out.stdout + out.stderr).toBe(true);
    expect(out.code).toBe(0);
    expect(answer.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['unsubscribe links', 'unsubscribe secret', 'sender identities']),
    );
    expect(answer.checks.find((c) => c.name === 'unsubscribe links')?.status).toBe('ok');
  });
});
