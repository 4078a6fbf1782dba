/**
 * What a new user meets in the CLI's first hour, as child processes against a local API: template errors
 * with their line, cheap checks before an upload, `--at` read clearly, a scheduled campaign said to be
 * scheduled, duplicate rows named, optional variables with a default, rows a cancel left `not_sent`,
 * and deliverability in `status`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiTest, startApiTest, TEMPLATE } from '../api/support.ts';
import { lastJson, sixback } from '../support/cli-process.ts';

describe('the CLI in a new user’s first hour', () => {
  let t: ApiTest;
  let dir: string;
  let connect: string[];
  const cli = (args: string[]) => sixback([...args, ...connect], { cwd: dir });
  /** The town template (saved by the test of a variable's default) to nocity.csv, watched to its end. */
  const sendTown = () =>
    cli(['send', '-t', 'town', '-r', 'nocity.csv', '-f', 'news@example.com', '--yes', '--watch', '--json']);
  const uploads = async () =>
    (
      await t.stack.deps.clients.s3.send(
        new ListObjectsV2Command({ Bucket: t.stack.config.bucket, Prefix: 'uploads/' }),
      )
    ).KeyCount ?? 0;

  beforeAll(async () => {
    t = await startApiTest();
    dir = mkdtempSync(join(tmpdir(), 'sixback-first-hour-'));
    connect = ['--api', t.server.url, '--token', t.server.token];
    writeFileSync(join(dir, 'hello.html'), TEMPLATE.html);
    writeFileSync(
      join(dir, 'list.csv'),
      'email,first_name,city\nada@example.com,Ada,London\ngrace@example.com,Grace,Arlington\nADA@example.com,Ada again,Leeds\nalan@example.com,Alan,Wilmslow\n alan@example.com ,Alan,Wilmslow\n',
    );
    const put = await cli([
      'templates',
      'put',
      'hello',
      '--subject',
      TEMPLATE.subject,
      '--html',
      'hello.html',
    ]);
    expect(put.code, put.stderr).toBe(0);
  });
  afterAll(async () => {
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints a template error with its line, column, the source line and a caret', async () => {
    writeFileSync(join(dir, 'broken.html'), '<p>Hi {{ first_name }}</p>\n<p>\n  {% endfi %}\n</p>\n');
    const put = await cli(['templates', 'put', 'broken', '--subject', 'Hi', '--html', 'broken.html']);
    expect(put.code).toBe(2);
    const lines = put.stderr.split('\n');
    const at = lines.findIndex((l) => l.includes('html line 3, column 3:'));
    expect(at, put.stderr).toBeGreaterThan(-1);
    const source = lines[at + 1] as string;
    const caret = lines[at + 2] as string;
    expect(source).toMatch(/^\s+3 \| {3}\{% endfi %\}$/);
    expect(caret.trimEnd().endsWith('^')).toBe(true);
    expect(caret.indexOf('^')).toBe(source.indexOf('{%'));
  });

  it('checks the template before uploading the file, and suggests the nearest id', async () => {
    const before = await uploads();
    const send = await cli(['send', '-t', 'helo', '-r', 'list.csv', '-f', 'news@example.com', '--yes']);
    expect(send.code).toBe(1);
    expect(send.stderr).toContain('No template "helo". Did you mean "hello"?');
    expect(await uploads()).toBe(before);
  });

  it('names the flag and the zone of a past --at, and refuses a time it cannot read, before uploading', async () => {
    const before = await uploads();
    const base = ['send', '-t', 'hello', '-r', 'list.csv', '-f', 'news@example.com', '--yes'];
    const past = await cli([...base, '--at', '2020-01-01 09:00', '--tz', 'Europe/Paris']);
    expect(past.code).toBe(2);
    expect(past.stderr).toContain(
      '--at "2020-01-01 09:00" is in the past: that is 2020-01-01 09:00 in Europe/Paris',
    );
    const garbled = await cli([...base, '--at', 'tomorrowT9am']);
    expect(garbled.code).toBe(2);
    expect(garbled.stderr).toContain('--at "tomorrowT9am" is not a time sixback understands');
    expect(garbled.stderr).not.toContain('TtomorrowT9am');
    expect(await uploads()).toBe(before);
  });

  it('schedules "tomorrow 9am" in the zone given, says scheduled in the headline and the status, and lists the duplicate rows', async () => {
    const send = await cli([
      'send',
      ...['-t', 'hello', '-r', 'list.csv', '-f', 'news@example.com'],
      ...['--at', 'tomorrow 9am', '--tz', 'Asia/Seoul', '--yes'],
    ]);
    expect(send.code, send.stderr).toBe(0);
    expect(send.stdout).toContain('duplicates   2 (sent once): row 4 repeats row 2, row 6 repeats row 5');
    const tomorrow = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Seoul' }).format(
      Date.now() + 86_400_000,
    );
    expect(send.stdout).toMatch(
      new RegExp(`campaign \\w+ scheduled for ${tomorrow}T09:00:00\\+09:00 \\(Asia/Seoul\\)`),
    );
    expect(send.stdout).toMatch(/\nstatus\s+scheduled\n/);
    const id = /campaign (\w+) scheduled/.exec(send.stdout)?.[1] as string;

    // Cancelled before its time: nothing was tried, and the CLI says so rather than "failed".
    expect((await cli(['cancel', id])).code).toBe(0);
    let status = '';
    await expect
      .poll(async () => {
        status = (await cli(['status', id])).stdout;
        return status;
      })
      .toContain('not_sent 3');
    expect(status).toContain('failed 0');
    expect(status).toContain('0 of 5 recipients sent: 0 sent, 2 duplicate, 3 not sent (never tried).');
    const list = await cli(['campaigns']);
    expect(list.stdout).toMatch(
      new RegExp(`${id}\\s+cancelled\\s+5/5\\s+hello\\s+${tomorrow}T00:00:00.000Z`),
    );
  });

  it('does not block a send on a variable with a default, and previews the default', async () => {
    writeFileSync(
      join(dir, 'town.html'),
      '<p>Hi {{ first_name }} from {{ city | default: "your town" }}.</p>{{ unsubscribe_url }}',
    );
    writeFileSync(join(dir, 'nocity.csv'), 'email,first_name\nada@example.com,Ada\n');
    expect((await cli(['templates', 'put', 'town', '--subject', 'Hi', '--html', 'town.html'])).code).toBe(0);
    const send = await sendTown();
    expect(send.code, send.stderr).toBe(0);
    expect(lastJson(send.stdout)).toMatchObject({ status: 'completed', progress: { counts: { sent: 1 } } });
    const preview = await t.call('POST', '/v1/templates/preview', {
      template: { subject: 'Hi', html: '<p>{{ city | default: "your town" }}</p>' },
    });
    expect(preview.body).toMatchObject({ html: '<p>your town</p>', sampled: [] });
  });

  it('shows SES event counts and alarms in the text of `status`', async () => {
    const send = await sendTown();
    const id = lastJson(send.stdout).id as string;
    const inject = await cli([
      'events',
      'inject',
      '--type',
      'complaint',
      '--email',
      'ada@example.com',
      '--campaign',
      id,
    ]);
    expect(inject.code, inject.stderr).toBe(0);
    const status = await cli(['status', id]);
    expect(status.code, status.stderr + status.stdout).toBe(0);
    // The local SES adds the campaign's own Send and Delivery events (asynchronously) before the complaint.
    expect(status.stdout).toMatch(/\nevents\s+(?:send 1, )?(?:delivery 1, )?complaint 1\n/);
    expect(status.stdout).toMatch(/\nhealth\s+ALARM: complaints 100\.00% \(limit 0\.10%\)/);
    expect(status.stdout).toContain('ALARM complaintRate 100.00% > 0.10% (raised ');
  });
});
