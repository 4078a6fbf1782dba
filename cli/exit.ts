/**
 * Exit codes scripts can rely on (docs/cli.md lists them):
 *   0 ok
 *   1 the thing asked for did not succeed: not found, not allowed now (e.g. cancel a finished campaign),
 *     or a watched campaign ended failed, cancelled or with failures
 *   2 usage or validation error: bad flags, a body or file the API refused, no confirmation
 *   3 authentication: no credentials, a wrong token, or an IAM signature refused
 *   4 server or network: the API cannot be reached, did not answer in time, or answered 5xx
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, auth: 3, server: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly details?: unknown,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The exit code for an API answer's HTTP status. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404 || status === 409) return EXIT.failed;
  if (status >= 400 && status < 500) return EXIT.usage;
  return EXIT.server;
}
