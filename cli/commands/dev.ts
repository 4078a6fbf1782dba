/** `sixback dev`: the local stack and the API on one machine, until Ctrl-C. */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, Option } from 'commander';
import { run } from '../command.ts';
import { acquireDevLock, type DevLock, type DevLockHolder, LOCK_FILE } from '../dev-lock.ts';
import { CliError, EXIT } from '../exit.ts';
import { positiveNumber, printJson } from '../output.ts';
import { DEFAULT_DATA_DIR, DEV_FILE, type DevFile } from '../target.ts';

const portNumber = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new CliError(`--port ${value} is not a port number.`, EXIT.usage);
  return n;
};

/** The base of unsubscribe links for an API at `url`: localhost when it listens on this machine only. */
function linkBase(url: string, host: string): string {
  const { port, protocol } = new URL(url);
  return ['127.0.0.1', 'localhost', '::1', '0.0.0.0', '::'].includes(host)
    ? `${protocol}//localhost:${port}`
    : url;
}

/**
 * Builds the web console into web/dist on the first run of a fresh clone (vite is a dev dependency);
 * false, with the reason printed, when it cannot be built here.
 */
async function buildWebConsole(quiet: boolean): Promise<boolean> {
  const say = (line: string) => {
    if (!quiet) process.stderr.write(`${line}\n`);
  };
  const config = fileURLToPath(new URL('../../web/vite.config.ts', import.meta.url));
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    say('console: web/dist is missing and vite is not installed (npm ci installs it); serving the API only.');
    return false;
  }
  say('console: building web/dist (first run only) ...');
  try {
    await vite.build({ configFile: config, logLevel: 'error' });
    return true;
  } catch (error) {
    say(`console: the build failed (${(error as Error).message}); serving the API only.`);
    return false;
  }
}

type LogLevelOption = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';

export function register(program: Command): void {
  program
    .command('dev')
    .description('Start the local stack (S3, DynamoDB, SES, Step Functions) and the API, until Ctrl-C.')
    .option('--data-dir <dir>', 'where data persists between runs', DEFAULT_DATA_DIR)
    .option('--ephemeral', 'keep everything in a temporary folder, removed on exit', false)
    .option('--port <port>', 'API port (0 picks a free one)', portNumber, 8787)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--token <token>', 'use this bearer token instead of a new random one (16+ characters)')
    .option('--rate <n>', 'emails per second for campaigns that name no rate', positiveNumber, 100)
    .option('--json', 'print the URLs and token as one JSON line once ready', false)
    .option(
      '--public-url <url>',
      'base URL of unsubscribe links in the mail sent (env SIXBACK_PUBLIC_BASE_URL; default: this API)',
    )
    .option(
      '--aws-ses',
      'send through real Amazon SES (standard AWS credentials and region) instead of the local inbox',
      false,
    )
    .option('--aws-s3 <bucket>', 'keep uploads and reports in this real S3 bucket instead of the local S3')
    .option(
      '--aws-dynamodb',
      'use real DynamoDB tables (named sixback-templates, sixback-campaigns, …) instead of the local one',
      false,
    )
    .addOption(
      new Option(
        '--log-level <level>',
        'operational log lines on stderr, one per workflow step and batch (env SIXBACK_LOG_LEVEL)',
      )
        .choices(['trace', 'debug', 'info', 'warn', 'error', 'silent'])
        .default(process.env.SIXBACK_LOG_LEVEL?.toLowerCase() || 'info'),
    )
    .addOption(
      new Option(
        '--log-recipients <mode>',
        "recipients' addresses in log lines: a short hash, [address], or as they are (env SIXBACK_LOG_RECIPIENTS)",
      )
        .choices(['hash', 'redact', 'plain'])
        .default(process.env.SIXBACK_LOG_RECIPIENTS || 'hash'),
    )
    .addHelpText(
      'after',
      `
The URL and token are also written to <data-dir>/${DEV_FILE} (readable only by you), where the other
sixback commands run in the same folder find them. One sixback dev holds a data folder at a time
(<data-dir>/${LOCK_FILE}); an --ephemeral stack started while another holds it leaves that one's files
alone and is reached with the URL and token it prints.

Examples:
  sixback dev
  sixback dev --ephemeral --port 0
  sixback dev --data-dir /tmp/sixback --json
  AWS_REGION=eu-west-1 sixback dev --aws-ses   # a real campaign through real SES, nothing deployed`,
    )
    .action(
      run(
        async (options: {
          dataDir: string;
          ephemeral: boolean;
          port: number;
          host: string;
          token?: string;
          rate: number;
          json: boolean;
          awsSes: boolean;
          awsS3?: string;
          awsDynamodb: boolean;
          publicUrl?: string;
          logLevel: string;
          logRecipients: 'hash' | 'redact' | 'plain';
        }) => {
          // Loaded here, not at the top: every other command starts faster without the local services.
          const [
            { startApiServer },
            { isWebPath, mountWebConsole, webConsoleBuilt },
            { startLocalStack },
            { restartInterruptedCampaigns },
          ] = await Promise.all([
            import('../../api/node.ts'),
            import('../../api/web.ts'),
            import('../../local/stack.ts'),
            import('../../core/campaigns/runs.ts'),
          ]);
          const dataDir = resolve(options.dataDir);
          mkdirSync(dataDir, { recursive: true });
          // One stack per data folder. An ephemeral one keeps its data elsewhere, so it may run beside
          // another; it then leaves that one's discovery file alone.
          const taken = acquireDevLock(dataDir);
          if ('heldBy' in taken && !options.ephemeral) {
            const { pid, url } = taken.heldBy;
            throw new CliError(
              `sixback dev is already running in ${dataDir} (pid ${pid}${url ? `, ${url}` : ', starting'}). ` +
                'Use that one, stop it first, or start another with --data-dir <other folder> or --ephemeral.',
              EXIT.failed,
            );
          }
          const lock = 'lock' in taken ? taken.lock : undefined;
          const sharedWith = 'heldBy' in taken ? taken.heldBy : undefined;
          try {
            return await serve(lock, sharedWith);
          } finally {
            lock?.release();
          }

          async function serve(
            lock: DevLock | undefined,
            sharedWith: DevLockHolder | undefined,
          ): Promise<number> {
            const publicUrl = options.publicUrl ?? process.env.SIXBACK_PUBLIC_BASE_URL;
            if (publicUrl !== undefined && !/^https?:\/\/[^/]+/.test(publicUrl))
              throw new CliError(`--public-url must be an http(s) URL, not "${publicUrl}".`, EXIT.usage);
            const web = webConsoleBuilt() || (await buildWebConsole(options.json));
            const stack = await startLocalStack({
              ...(options.ephemeral ? { ephemeral: true } : { dataDir }),
              defaultRate: options.rate,
              // Any of the three services can be the real one; the engine and the handlers stay local.
              aws: { ses: options.awsSes, s3: options.awsS3 !== undefined, dynamodb: options.awsDynamodb },
              ...(options.awsS3 ? { bucket: options.awsS3 } : {}),
              ...(publicUrl ? { publicBaseUrl: publicUrl } : {}),
              // Interrupted campaigns are picked up below, once unsubscribe links know the API's address.
              pickup: false,
              logLevel: options.logLevel.toUpperCase() as LogLevelOption,
              logRecipients: options.logRecipients,
            });
            let server: Awaited<ReturnType<typeof startApiServer>>;
            try {
              server = await startApiServer({
                deps: { app: stack.deps, campaigns: stack.campaignDeps },
                port: options.port,
                host: options.host,
                ...(options.token ? { token: options.token } : {}),
                // Hook for the web console: served from web/dist when it has been built.
                ...(web ? { beforeRoutes: (app) => mountWebConsole(app), isPublicPath: isWebPath } : {}),
              });
            } catch (error) {
              await stack.stop();
              if ((error as { code?: string }).code === 'EADDRINUSE') {
                throw new CliError(
                  `Port ${options.port} is in use (another \`sixback dev\`?). Pick another with --port, or 0 for any free one.`,
                  EXIT.usage,
                );
              }
              throw error;
            }
            // Unsubscribe links in local mail point at the address this API really listens on (with
            // --port 0 that is known only now), unless a public URL was configured.
            if (!publicUrl) await stack.setPublicBaseUrl(linkBase(server.url, options.host));
            const restarted =
              options.ephemeral || options.awsDynamodb
                ? []
                : await restartInterruptedCampaigns(stack.campaignDeps);
            if (stack.urls.s3) {
              // The console uploads straight to the local S3 (presigned POST) and downloads reports from it: a
              // cross-origin request, which s3rver refuses unless the bucket says which origins may.
              const { PutBucketCorsCommand } = await import('@aws-sdk/client-s3');
              const port = new URL(server.url).port;
              await stack.deps.clients.s3.send(
                new PutBucketCorsCommand({
                  Bucket: stack.config.bucket,
                  CORSConfiguration: {
                    CORSRules: [
                      {
                        AllowedMethods: ['POST', 'GET'],
                        AllowedOrigins: [server.url, `http://localhost:${port}`],
                        AllowedHeaders: ['*'],
                      },
                    ],
                  },
                }),
              );
            }
            // The console reads the token (and the inbox address) from the fragment, which no server or
            // Referer ever sees, then wipes it from the address bar (web/src/api.ts).
            const fragment = new URLSearchParams({
              token: server.token,
              ...(stack.urls.inbox ? { inbox: stack.urls.inbox } : {}),
            });
            const consoleUrl = `${server.url}/#${fragment}`;
            const info: DevFile = {
              url: server.url,
              token: server.token,
              ...(stack.urls.inbox ? { inboxUrl: stack.urls.inbox } : {}),
              ...(web ? { consoleUrl } : {}),
              pid: process.pid,
              startedAt: new Date().toISOString(),
            };
            // The dev file sits in the data folder, even with --ephemeral, so commands in this folder find the
            // API; but only the stack holding the folder's lock writes it.
            const devFile = join(dataDir, DEV_FILE);
            if (lock) {
              writeFileSync(devFile, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
              chmodSync(devFile, 0o600);
            }

            if (options.json) {
              printJson({
                ...info,
                dataDir: options.ephemeral ? stack.dataDir : dataDir,
                restarted: restarted.map((c) => c.id),
              });
            } else {
              const lines = [
                'sixback is running on the local stack.',
                `  API          ${server.url}/v1`,
                `  token        ${server.token}`,
                ...(stack.urls.inbox ? [`  SES inbox    ${stack.urls.inbox}`] : []),
                web ? `  console      ${consoleUrl}` : '  console      not built (web/dist is missing)',
                `  data         ${options.ephemeral ? `${stack.dataDir} (removed on exit)` : dataDir}`,
                ...(restarted.length > 0
                  ? [
                      `  picked up    ${restarted.length} campaign(s) interrupted by the last stop: ${restarted
                        .map((c) => c.id)
                        .join(', ')}`,
                    ]
                  : []),
                '',
                lock
                  ? `Commands run in this folder find the API through ${devFile}.`
                  : `Another sixback dev (pid ${sharedWith?.pid}) holds ${dataDir}: commands in this folder talk to that one. For this one:`,
                ...(lock ? ['Elsewhere:'] : []),
                `  export SIXBACK_API_URL=${server.url} SIXBACK_TOKEN=${server.token}`,
                `  curl -H "Authorization: Bearer $SIXBACK_TOKEN" $SIXBACK_API_URL/v1/health`,
                '',
                'Press Ctrl-C to stop.',
              ];
              process.stdout.write(`${lines.join('\n')}\n`);
            }

            await new Promise<void>((resolveStop) => {
              process.once('SIGINT', () => resolveStop());
              process.once('SIGTERM', () => resolveStop());
            });
            if (!options.json) process.stdout.write('\nstopping...\n');
            await server.close();
            await stack.stop();
            return EXIT.ok;
          }
        },
      ),
    );
}
