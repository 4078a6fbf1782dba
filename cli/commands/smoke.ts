/** `sixback smoke`: proves a deployment (or `sixback dev`) works, end to end, through its public API. */
import type { Command } from 'commander';
import { type CommonOptions, clientFor, run, withConnection } from '../command.ts';
import { EXIT } from '../exit.ts';
import { positiveInt, printJson, table } from '../output.ts';
import { runSmoke, type SmokeResult } from '../smoke.ts';

interface SmokeCommandOptions extends CommonOptions {
  from: string;
  timeout: number;
  keep: boolean;
}

export function describeSmoke(result: SmokeResult): string {
  const rows = result.checks.map((c) => [c.ok ? 'PASS' : 'FAIL', c.name, c.detail]);
  const lines = [table(rows, ['', 'check', 'seen'])];
  const failing = result.checks.filter((c) => !c.ok);
  if (failing.length > 0) {
    lines.push('', 'What to fix:');
    for (const c of failing) lines.push(`  - ${c.name}: ${c.fix}`);
  }
  const passed = result.checks.length - failing.length;
  lines.push(
    '',
    `${result.ok ? 'smoke test passed' : 'smoke test FAILED'}: ${passed} of ${result.checks.length} checks in ${result.seconds} s${result.campaignId ? ` (campaign ${result.campaignId})` : ''}`,
  );
  return lines.join('\n');
}

export function register(program: Command): void {
  withConnection(
    program
      .command('smoke')
      .description(
        'Prove a deployment works: mail the SES mailbox simulator, wait for its events, check delivery, bounce and complaint suppression, and one-click unsubscribe.',
      )
      .requiredOption('-f, --from <address>', 'From address (an identity verified in SES)')
      .option('--timeout <seconds>', 'how long to wait for the campaign and its events', positiveInt, 300)
      .option('--keep', 'leave the simulator addresses on the suppression list afterwards', false)
      .addHelpText(
        'after',
        `
Examples:
  sixback smoke --api https://abc123.execute-api.eu-west-1.amazonaws.com -f news@example.com
  sixback smoke -f smoke@example.com --json          # against \`sixback dev\` in this folder

Exit code 0 when every check passed, 1 when one failed (each failing row says what to fix).`,
      ),
  ).action(
    run(async (options: SmokeCommandOptions) => {
      const client = clientFor(options);
      const result = await runSmoke(
        { from: options.from, timeoutSeconds: options.timeout, keep: options.keep },
        {
          client,
          now: Date.now,
          sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
          fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(30_000) }),
          ...(options.json ? {} : { progress: (line: string) => console.error(line) }),
        },
      );
      if (options.json) printJson(result);
      else console.log(describeSmoke(result));
      return result.ok ? EXIT.ok : EXIT.failed;
    }),
  );
}
