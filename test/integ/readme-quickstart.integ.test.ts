/**
 * A new user's first run: the README's quick start pasted as it is on a throwaway stack (`sixback dev`
 * as a child process, in a fresh folder holding only the examples), then what happens when a second
 * `sixback dev` starts in the same folder.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevProcess, ROOT, shell, sixback, startDev } from '../support/cli-process.ts';
import { type InboxEmail, parseReport } from '../support/local-stack.ts';

/** The commands of the README block marked `<!-- quickstart ... -->`. */
function quickStart(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const marker = readme.indexOf('<!-- quickstart');
  expect(marker).toBeGreaterThan(-1);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(marker))?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

describe("the README's quick start on a fresh folder", () => {
  let home: string;
  let dev: DevProcess | undefined;
  const commands = quickStart();

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'sixback-readme-'));
    cpSync(join(ROOT, 'examples'), join(home, 'examples'), { recursive: true });
  });
  afterAll(async () => {
    await dev?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('runs every command as pasted, and each email links to the API it came from', async () => {
    expect(commands[0]).toBe('npx sixback dev');
    // The only change: any free port, since 8787 may be taken on a shared machine.
    dev = await startDev(['--port', '0'], { cwd: home });
    expect(existsSync(join(home, '.sixback/api.json'))).toBe(true);
    expect(dev.info.consoleUrl).toMatch(/#token=/);

    const outputs: string[] = [];
    for (const line of commands.slice(1)) {
      const result = await shell(line, { cwd: home });
      expect(result.code, `${line}\n${result.stdout}\n${result.stderr}`).toBe(0);
      outputs.push(result.stdout);
    }
    expect(outputs.join('\n')).toMatch(/completed/);
    // `report latest` wrote the newest campaign's report here: every example row was sent.
    const id = /campaign (\w+)/.exec(outputs.join('\n'))?.[1] as string;
    const report = parseReport(readFileSync(join(home, `${id}-report.csv`), 'utf8'));
    const rows = readFileSync(join(home, 'examples/recipients.csv'), 'utf8').trim().split('\n').length - 1;
    expect(report).toHaveLength(rows);
    expect(report.every((r) => r.state === 'sent')).toBe(true);

    // The unsubscribe link in each email (header and body) points at the port this API really has.
    const store = (await (await fetch(`${dev.info.inboxUrl}store`)).json()) as { emails: InboxEmail[] };
    const welcome = store.emails.filter((e) => e.subject.startsWith('Welcome,'));
    expect(welcome).toHaveLength(rows);
    const port = new URL(dev.info.url).port;
    const LINK = /https?:\/\/[^"'\s<>,]+\/u\/[^"'\s<>,]+/g;
    for (const email of welcome) {
      const header = email.headers?.find((h) => h.name === 'List-Unsubscribe')?.value ?? '';
      const links = [...`${email.body.html ?? ''} ${header}`.matchAll(LINK)].map((m) => m[0]);
      expect(links.length).toBeGreaterThanOrEqual(2);
      for (const link of links) expect(new URL(link).port).toBe(port);
    }
    // And the link works: the API answers it with the confirmation page.
    const link = [...(welcome[0]?.body.html ?? '').matchAll(LINK)][0]?.[0] as string;
    expect((await fetch(link.replaceAll('&amp;', '&'))).status).toBe(200);
  });

  it('refuses a second sixback dev in the same folder, saying which one runs', async () => {
    const second = await sixback(['dev', '--port', '0'], { cwd: home });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `sixback dev is already running in ${join(home, '.sixback')} (pid ${dev?.info.pid}, ${dev?.info.url})`,
    );
    expect(second.stderr).not.toMatch(/Database is closed|at .*\.js:\d+/);
  });

  it('lets an --ephemeral stack run beside it without touching its files', async () => {
    const before = readFileSync(join(home, '.sixback/api.json'), 'utf8');
    const ephemeral = await startDev(['--ephemeral', '--port', '0'], { cwd: home });
    try {
      expect(ephemeral.info.url).not.toBe(dev?.info.url);
      expect(readFileSync(join(home, '.sixback/api.json'), 'utf8')).toBe(before);
    } finally {
      expect(await ephemeral.stop()).toBe(0);
    }
    // Still there after it stopped, and the commands in this folder still reach the first API.
    expect(readFileSync(join(home, '.sixback/api.json'), 'utf8')).toBe(before);
    const list = await sixback(['templates', 'list'], { cwd: home });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('welcome');
  });

  it('takes over a lock whose process is gone', async () => {
    expect(await dev?.stop()).toBe(0);
    dev = undefined;
    expect(existsSync(join(home, '.sixback/api.json'))).toBe(false);
    expect(existsSync(join(home, '.sixback/dev.pid'))).toBe(false);
    // A stack killed hard leaves its pid file behind; the next start sees that process is gone.
    const killed = await startDev(['--port', '0'], { cwd: home });
    // The node process itself (tsx runs it as a child): no handler runs, nothing is cleaned up.
    process.kill(killed.info.pid, 'SIGKILL');
    await killed.stop();
    expect(existsSync(join(home, '.sixback/dev.pid'))).toBe(true);
    dev = await startDev(['--port', '0'], { cwd: home });
    expect(JSON.parse(readFileSync(join(home, '.sixback/api.json'), 'utf8')).pid).toBe(dev.info.pid);
  });
});
