/** `npm run demo -- --json` is a contract for scripts: its last line is one JSON summary. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { lastJson } from '../support/cli-process.ts';

const run = promisify(execFile);

describe('npm run demo', () => {
  it('runs a 1,000-recipient campaign and prints the summary as JSON on its last line', async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'demo', '--', '--json'], { timeout: 120_000 });
    const summary = lastJson(stdout);
    expect(summary).toMatchObject({
      status: 'completed',
      total: 1000,
      sent: 1000,
      failed: 0,
      invalid: 0,
      suppressed: 0,
      // From the local SES's Delivery events, through the SES events handler.
      delivered: 1000,
    });
    expect(summary).not.toHaveProperty('bounced');
    expect(summary.campaignId).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(summary.durationMs).toBeGreaterThan(0);
  });

  it('with --simulator, also mails the SES mailbox simulator and reports what SES documents for it', async () => {
    const { stdout } = await run(
      'npx',
      ['tsx', 'cli/main.ts', 'demo', '--recipients', '20', '--simulator', '--json'],
      { timeout: 120_000 },
    );
    const summary = lastJson(stdout);
    // 20 ordinary + success@, ooto@ and complaint@ are delivered; bounce@ and suppressionlist@ bounce;
    // complaint@ complains.
    expect(summary).toMatchObject({
      status: 'completed',
      total: 25,
      sent: 25,
      delivered: 23,
      bounced: 2,
      complained: 1,
    });
  });

  it('shows progress and a summary for people by default', async () => {
    const { stdout } = await run('npx', ['tsx', 'cli/main.ts', 'demo', '--recipients', '50'], {
      timeout: 120_000,
    });
    expect(stdout).toMatch(/campaign \S+ started at 250 emails\/s/);
    expect(stdout).toMatch(/campaign \S+: completed/);
    expect(stdout).toMatch(/sent\s+50\n/);
    expect(stdout).toMatch(/total\s+50\n/);
  });
});
