/** What every API command shares: connection flags, --json, one way to fail with an exit code. */
import type { Command } from 'commander';
import { ApiClient } from './client.ts';
import { CliError, EXIT } from './exit.ts';
import { printJson } from './output.ts';
import { type ConnectionOptions, resolveTarget } from './target.ts';

export interface CommonOptions extends ConnectionOptions {
  json?: boolean;
}

/** Adds the flags that choose the API, and --json. */
export function withConnection(command: Command): Command {
  return command
    .option('--api <url>', 'API base URL (default: the one `sixback dev` wrote; env SIXBACK_API_URL)')
    .option(
      '--token <token>',
      'bearer token of a local API (env SIXBACK_TOKEN); without one, --api signs with AWS credentials',
    )
    .option('--data-dir <dir>', 'folder `sixback dev` uses (default .sixback; env SIXBACK_DATA_DIR)')
    .option('--region <region>', 'AWS region for signing, when the API URL does not show it')
    .option('--json', 'print JSON for scripts instead of text for people', false);
}

export function clientFor(options: CommonOptions): ApiClient {
  return new ApiClient(resolveTarget(options));
}

/** Prints an error for people on stderr, and as JSON on stdout with --json, and sets the exit code. */
export function reportError(error: unknown, json: boolean): void {
  if (error instanceof CliError) {
    process.stderr.write(`sixback: ${error.message}\n`);
    const details = error.details;
    if (!json && Array.isArray(details)) {
      for (const d of details.slice(0, 20) as Record<string, unknown>[]) {
        const where = d.path ?? (d.row !== undefined ? `row ${d.row}` : undefined);
        process.stderr.write(`  - ${where ? `${where}: ` : ''}${d.problem ?? JSON.stringify(d)}\n`);
      }
    }
    if (json)
      printJson({
        error: {
          code: error.code ?? 'cli',
          message: error.message,
          details: error.details ?? null,
          exitCode: error.exitCode,
        },
      });
    process.exitCode = error.exitCode;
    return;
  }
  process.stderr.write(`sixback: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = EXIT.server;
}

/** Wraps an action so a thrown error becomes a message and an exit code, never a stack trace. */
export function run<A extends unknown[]>(
  fn: (...args: A) => Promise<unknown>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const command = args[args.length - 1] as Command;
    const json = Boolean(command.opts().json);
    try {
      const code = await fn(...args);
      if (typeof code === 'number') process.exitCode = code;
    } catch (error) {
      reportError(error, json);
    }
  };
}
