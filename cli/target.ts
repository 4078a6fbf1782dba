/**
 * Which API the CLI talks to, and how it proves who it is. In order:
 *   --api URL [--token T]  or  SIXBACK_API_URL [SIXBACK_TOKEN]
 *   the URL and token `sixback dev` wrote into the data folder (.sixback/api.json by default)
 * A URL with no token is a deployed stack: requests are signed with SigV4 (service execute-api) using the
 * standard AWS credential chain.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { CliError, EXIT } from './exit.ts';

export const DEFAULT_DATA_DIR = '.sixback';
export const DEV_FILE = 'api.json';

export const DevFileSchema = z.object({
  url: z.string().url(),
  token: z.string().min(1),
  inboxUrl: z.string().optional(),
  consoleUrl: z.string().optional(),
  pid: z.number().int().optional(),
  startedAt: z.string().optional(),
});
export type DevFile = z.infer<typeof DevFileSchema>;

export interface ConnectionOptions {
  api?: string;
  token?: string;
  dataDir?: string;
  region?: string;
}

export type ApiTarget =
  | { url: string; auth: 'bearer'; token: string; source: string }
  | { url: string; auth: 'sigv4'; region: string; source: string };

export function dataDirOf(options: { dataDir?: string }, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(options.dataDir ?? env.SIXBACK_DATA_DIR ?? DEFAULT_DATA_DIR);
}

export function readDevFile(dataDir: string): DevFile | undefined {
  const path = resolve(dataDir, DEV_FILE);
  if (!existsSync(path)) return undefined;
  const parsed = DevFileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  return parsed.success ? parsed.data : undefined;
}

/** The region of an execute-api URL (https://abc.execute-api.eu-west-1.amazonaws.com/...). */
export function regionOfApiUrl(url: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(new URL(url).hostname)?.[1];
}

export function resolveTarget(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): ApiTarget {
  const url = options.api ?? env.SIXBACK_API_URL;
  const token = options.token ?? env.SIXBACK_TOKEN;
  if (url) {
    try {
      new URL(url);
    } catch {
      throw new CliError(
        `--api must be a URL such as https://abc.execute-api.eu-west-1.amazonaws.com, not "${url}".`,
        EXIT.usage,
      );
    }
    const clean = url.replace(/\/+$/, '');
    if (token)
      return { url: clean, auth: 'bearer', token, source: options.api ? '--api/--token' : 'environment' };
    const dev = readDevFile(dataDirOf(options, env));
    if (dev && dev.url === clean)
      return { url: clean, auth: 'bearer', token: dev.token, source: 'data folder' };
    const region = options.region ?? regionOfApiUrl(clean) ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) {
      throw new CliError(
        `Cannot tell the AWS region of ${clean}: pass --region or set AWS_REGION.`,
        EXIT.usage,
      );
    }
    return { url: clean, auth: 'sigv4', region, source: options.api ? '--api' : 'environment' };
  }
  if (token)
    throw new CliError('A token needs an API URL too: pass --api URL (or set SIXBACK_API_URL).', EXIT.usage);
  const dataDir = dataDirOf(options, env);
  const dev = readDevFile(dataDir);
  if (!dev) {
    throw new CliError(
      `No sixback API to talk to: ${resolve(dataDir, DEV_FILE)} does not exist. Start one with \`sixback dev\` in this folder, or pass --api URL.`,
      EXIT.server,
    );
  }
  return { url: dev.url, auth: 'bearer', token: dev.token, source: `${resolve(dataDir, DEV_FILE)}` };
}
