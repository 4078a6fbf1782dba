#!/usr/bin/env node
/**
 * The `sixback` command line. Each command lives in cli/commands/<name>.ts and registers itself with
 * `register(program)`: adding a command is one import and one entry in COMMANDS.
 * Exit codes are listed in cli/exit.ts and docs/cli.md.
 */
import { Command, CommanderError } from 'commander';
import { register as abTest } from './commands/ab-test.ts';
import { register as campaigns } from './commands/campaigns.ts';
import { register as consoleCommand } from './commands/console.ts';
import { register as demo } from './commands/demo.ts';
import { register as dev } from './commands/dev.ts';
import { register as doctor } from './commands/doctor.ts';
import { register as events } from './commands/events.ts';
import { register as send } from './commands/send.ts';
import { register as smoke } from './commands/smoke.ts';
import { register as stats } from './commands/stats.ts';
import { register as suppression } from './commands/suppression.ts';
import { register as templates } from './commands/templates.ts';
import { register as upload } from './commands/upload.ts';
import { register as webhooks } from './commands/webhooks.ts';
import { EXIT } from './exit.ts';

// The AWS SDK prints a ten-line NodeVersionSupportWarning on every command under Node 20; the README
// says which Node versions are supported and tested, so the CLI keeps its output to its own.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const COMMANDS: ((program: Command) => void)[] = [
  dev,
  demo,
  templates,
  upload,
  send,
  campaigns,
  stats,
  abTest,
  suppression,
  events,
  doctor,
  smoke,
  webhooks,
  consoleCommand,
];

const program = new Command('sixback')
  .description('Bulk email campaigns on Step Functions and SES, on AWS or on one machine.')
  .version('0.1.0', '-V, --version')
  .showHelpAfterError('(add --help for usage and examples)')
  // Usage errors exit 2, not commander's default 1, so scripts can tell them from a failed campaign.
  .exitOverride()
  .addHelpText(
    'after',
    `
Start here:
  sixback dev                                  # local stack + API; prints the URL and token
  sixback templates put welcome --subject "Hi {{ first_name }}" --html welcome.html
  sixback send -t welcome -r recipients.csv -f news@example.com
  sixback status <campaign-id> --watch

Exit codes: 0 ok, 1 failed/not found/not allowed now, 2 usage or validation, 3 auth, 4 server or network.`,
  );

for (const register of COMMANDS) register(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    const ok = ['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(error.code);
    process.exitCode = ok ? EXIT.ok : EXIT.usage;
    return;
  }
  console.error(`sixback: ${(error as Error).message}`);
  process.exitCode = EXIT.server;
});
