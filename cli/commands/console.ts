/**
 * `sixback console --api URL`: the web console against a deployed stack. It runs on this machine: a local
 * server serves the built console and forwards its API calls signed with your AWS credentials (SigV4),
 * so nothing new is public and no credentials reach the browser (cli/aws-console.ts, docs/console.md).
 */
import type { Command } from 'commander';
import { run } from '../command.ts';
import { CliError, EXIT } from '../exit.ts';
import { printJson } from '../output.ts';

const regionOf = (apiUrl: string) => /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com/.exec(apiUrl)?.[1];

export function register(program: Command): void {
  program
    .command('console')
    .description(
      'Open the web console against a deployed stack, signing API calls with your AWS credentials.',
    )
    .requiredOption(
      '--api <url>',
      'the deployed API URL (the stack output ApiUrl)',
      process.env.SIXBACK_API_URL,
    )
    .option('--region <region>', 'AWS region of the API (default: read from the URL, or AWS_REGION)')
    .option('--port <port>', 'local port (0 picks a free one)', (v) => Number(v), 0)
    .option('--json', 'print the console URL as JSON once ready', false)
    .addHelpText(
      'after',
      `
Locally, \`sixback dev\` serves the console itself; use this command for a deployed stack.
Build the console once first: npm run build:web

Examples:
  sixback console --api https://abc123.execute-api.eu-west-1.amazonaws.com`,
    )
    .action(
      run(async (options: { api: string; region?: string; port: number; json: boolean }) => {
        const [{ startAwsConsole }, { webConsoleBuilt }] = await Promise.all([
          import('../aws-console.ts'),
          import('../../api/web.ts'),
        ]);
        if (!webConsoleBuilt())
          throw new CliError('The console is not built: run `npm run build:web` first.', EXIT.usage);
        const region = options.region ?? regionOf(options.api) ?? process.env.AWS_REGION;
        if (!region) throw new CliError('Give the API region with --region (or set AWS_REGION).', EXIT.usage);
        const server = await startAwsConsole({ apiUrl: options.api, region, port: options.port });
        if (options.json) printJson({ consoleUrl: server.consoleUrl, url: server.url });
        else
          console.log(`sixback console for ${options.api}\n  open ${server.consoleUrl}\n  (Ctrl-C to stop)`);
        await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
        await server.close();
        return EXIT.ok;
      }),
    );
}
