/**
 * The `sixback` CLI as people and scripts run it: child processes against a local API server, checking
 * output and the documented exit codes (0 ok, 1 failed/not found, 2 usage, 3 auth, 4 server/network).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiTest, startApiTest, TEMPLATE } from '../api/support.ts';
import { lastJson, sixback } from '../support/cli-process.ts';

describe('the sixback CLI', () => {
  let t: ApiTest;
  let dir: string;
  let connect: string[];
  /** The campaign the first test sends, for the stats test. */
  let sentId: string | undefined;
  /** `sixback send` of the hello template to list.csv from news@, with these options. */
  const sendHello = (...options: string[]) =>
    sixback(['send', '-t', 'hello', '-r', 'list.csv', '-f', 'news@sixback.example', ...options, ...connect], {
      cwd: dir,
    });

  beforeAll(async () => {
    t = await startApiTest();
    dir = mkdtempSync(join(tmpdir(), 'sixback-cli-'));
    connect = ['--api', t.server.url, '--token', t.server.token];
    writeFileSync(join(dir, 'hello.html'), TEMPLATE.html);
    writeFileSync(
      join(dir, 'list.csv'),
      'email,first_name,city\nada@example.com,Ada,London\ngrace@example.com,Grace,Arlington\nnot-an-address,Bob,Paris\n',
    );
  });
  afterAll(async () => {
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('stores a template, uploads and checks a CSV, sends, watches and reports, for people and scripts', async () => {
    const put = await sixback(
      ['templates', 'put', 'hello', '--subject', TEMPLATE.subject, '--html', 'hello.html', ...connect],
      { cwd: dir },
    );
    expect(put.code).toBe(0);
    expect(put.stdout).toMatch(
      /saved template hello version 1 \(variables: city, first_name, unsubscribe_url\)/,
    );

    const send = await sendHello('--yes', '--watch', '--json');
    expect(send.stderr).toBe('');
    expect(send.code).toBe(0);
    const final = lastJson(send.stdout);
    sentId = final.id;
    expect(final).toMatchObject({
      status: 'completed',
      progress: { counts: { sent: 2, invalid: 1 }, done: 3, total: 3 },
      reportAvailable: true,
    });

    const [status, report] = await Promise.all([
      sixback(['status', final.id, ...connect]),
      sixback(['report', final.id, '--out', '-', ...connect]),
    ]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/status\s+completed/);
    expect(status.stdout).toMatch(/sent 2, duplicate 0, suppressed 0, invalid 1, failed 0/);
    expect(report.code).toBe(0);
    expect(report.stdout.trim().split('\n')).toHaveLength(4);
    expect(report.stdout).toMatch(/^row,email,state/);
    expect(report.stdout).toMatch(/not-an-address,invalid/);
  });

  it('starts an A/B test with --variant, shows it in status, and picks a winner by hand', async () => {
    const send = await sendHello(
      '--variant',
      'subject=Hi {{ first_name }}, news',
      '--variant',
      'template=hello subject=Deals, for {{ city }}',
      '--sample',
      '50%',
      '--metric',
      'clicks',
      '--decide-after',
      '30d',
      '--yes',
      '--json',
    );
    expect(send.stderr).toBe('');
    expect(send.code).toBe(0);
    const created = lastJson(send.stdout);
    expect(created.abTest).toMatchObject({
      metric: 'clicks',
      sample: 0.5,
      fallback: 'A',
      variants: [
        { name: 'A', templateId: 'hello', subject: 'Hi {{ first_name }}, news' },
        { name: 'B', templateId: 'hello', templateVersion: 1, subject: 'Deals, for {{ city }}' },
      ],
    });
    const [status, stray] = await Promise.all([
      sixback(['status', created.id, ...connect]),
      sixback(['send', '-t', 'hello', '-r', 'list.csv', '-f', 'a@b.example', '--sample', '10%', ...connect], {
        cwd: dir,
      }),
    ]);
    expect(status.stdout).toMatch(
      /A\/B test\s+\w+; clicks, sample 50\.0%, 95\.0% confidence, fallback variant A/,
    );
    expect(status.stdout).toMatch(/variant B\s+subject "Deals, for \{\{ city \}\}"/);
    expect(stray).toMatchObject({ code: 2, stderr: expect.stringMatching(/--sample needs --variant/) });

    const pick = await sixback(['pick', created.id, 'b', '--json', ...connect]);
    expect(pick.code).toBe(0);
    expect(lastJson(pick.stdout).abTest.decision).toMatchObject({ variant: 'B', by: 'manual' });
    const again = await sixback(['pick', created.id, 'A', ...connect]);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringMatching(/decided already/) });
    await sixback(['cancel', created.id, ...connect]);
  });

  it('exits with the documented codes: not found 1, usage 2, auth 3, network 4', async () => {
    const [missing, usage, auth, network, unconfirmed] = await Promise.all([
      sixback(['status', 'no-such-campaign', ...connect]),
      sixback(['send', '-t', 'hello', ...connect]),
      sixback(['templates', 'list', '--api', t.server.url, '--token', 'wrong-token-wrong-token']),
      sixback(['templates', 'list', '--api', 'http://127.0.0.1:9', '--token', 'whatever-token-1234']),
      sendHello(),
    ]);
    expect(missing).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/No campaign "no-such-campaign"/),
    });
    expect(usage).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/required option '-r, --recipients/),
    });
    expect(auth).toMatchObject({ code: 3, stderr: expect.stringMatching(/bearer token is wrong/) });
    expect(network).toMatchObject({ code: 4, stderr: expect.stringMatching(/Cannot reach the sixback API/) });
    expect(unconfirmed).toMatchObject({ code: 2, stderr: expect.stringMatching(/pass --yes/) });
  });

  it('finds the API through the data folder `sixback dev` writes, and prints errors as JSON with --json', async () => {
    const home = mkdtempSync(join(tmpdir(), 'sixback-dev-'));
    writeFileSync(join(home, 'api.json'), JSON.stringify({ url: t.server.url, token: t.server.token }));
    const [list, invalid] = await Promise.all([
      sixback(['templates', 'list', '--json', '--data-dir', home]),
      sixback(['templates', 'show', 'has space', '--json'], { env: { SIXBACK_DATA_DIR: home } }),
    ]);
    rmSync(home, { recursive: true, force: true });
    expect(list.code).toBe(0);
    expect(lastJson(list.stdout)).toContainEqual(expect.objectContaining({ id: 'hello', version: 1 }));
    expect(invalid.code).toBe(2);
    expect(lastJson(invalid.stdout)).toMatchObject({ error: { code: 'validation_failed', exitCode: 2 } });
  });

  it('shows what happened after "sent" with `stats`: a table, --json, and one recipient', async () => {
    const id = sentId as string;
    expect(id).toBeDefined();
    const injected = await Promise.all(
      [
        ['delivery', 'ada@example.com'],
        ['delivery', 'grace@example.com'],
        ['open', 'ada@example.com'],
        ['click', 'ada@example.com'],
        ['bounce', 'grace@example.com'],
      ].map(([type, email]) =>
        sixback([
          'events',
          'inject',
          '--type',
          type as string,
          '--email',
          email as string,
          '--campaign',
          id,
          ...connect,
        ]),
      ),
    );
    expect(injected.map((r) => r.code)).toEqual([0, 0, 0, 0, 0]);

    const [table, json, person] = await Promise.all([
      sixback(['stats', id, ...connect]),
      sixback(['stats', id, '--json', ...connect]),
      sixback(['stats', id, '--recipient', 'Ada@Example.com', ...connect]),
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/delivered\s+2\s+100\.0%/);
    expect(table.stdout).toMatch(/bounced \(hard\)\s+1\s+50\.0%/);
    expect(table.stdout).toMatch(/opened \(unique\)\s+1\s+50\.0%/);
    expect(table.stdout).toMatch(/https:\/\/example\.com\/\s+1\s+1/);
    expect(json.code).toBe(0);
    expect(lastJson(json.stdout)).toMatchObject({
      campaignId: id,
      sent: 2,
      counts: { delivered: 2, bounced: { hard: 1 }, opened: { unique: 1, total: 1 }, clicked: { unique: 1 } },
    });
    expect(person.code).toBe(0);
    expect(person.stdout).toMatch(/recipient\s+ada@example\.com/);
    expect(person.stdout).toMatch(/\bclick\s+https:\/\/example\.com\//);
    const missing = await sixback(['stats', 'no-such-campaign', ...connect]);
    expect(missing.code).toBe(1);
  });

  it('shows help with examples for every command', async () => {
    const help = await sixback(['send', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Examples:\n {2}sixback send/);
    expect(help.stdout).toMatch(/--at <time>/);
  });
});
