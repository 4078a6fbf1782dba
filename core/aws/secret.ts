/**
 * Where the unsubscribe-token secret comes from: inline in the configuration (the local stack, which
 * generates one per data folder), or on AWS from Secrets Manager or an SSM SecureString parameter.
 * The AWS reads are single signed JSON calls, so no extra SDK client is bundled for them.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SixbackConfig } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { awsServiceHost } from './hosts.ts';

export const LOCAL_SECRET_FILE = 'unsubscribe-secret';
/** The local stack's key of the address pseudonyms in logs (core/logging.ts). */
export const LOCAL_LOG_KEY_FILE = 'log-key';

/** The local stack's secret: created once per data folder, so links in old emails keep working. */
export function localUnsubscribeSecret(dataDir: string): string {
  return localSecret(dataDir, LOCAL_SECRET_FILE);
}

/** The local stack's log key: one per data folder, so a recipient's pseudonym is the same across restarts. */
export function localLogKey(dataDir: string): string {
  return localSecret(dataDir, LOCAL_LOG_KEY_FILE);
}

function localSecret(dataDir: string, file: string): string {
  const path = join(dataDir, file);
  if (existsSync(path)) {
    const existing = readFileSync(path, 'utf8').trim();
    if (existing.length >= 32) return existing;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return secret;
}

export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string },
) => Promise<{
  ok: boolean;
  status: number;
  text(): Promise<string>;
}>;

export interface AwsJsonCallOptions {
  region: string;
  service: 'secretsmanager' | 'ssm';
  target: string;
  body: Record<string, unknown>;
  fetch?: FetchLike;
  credentials?: ConstructorParameters<typeof SignatureV4>[0]['credentials'];
}

/** One SigV4-signed call to an AWS JSON 1.1 API. */
export async function awsJsonCall(options: AwsJsonCallOptions): Promise<Record<string, unknown>> {
  const hostname = awsServiceHost(options.service, options.region);
  const signer = new SignatureV4({
    service: options.service,
    region: options.region,
    credentials: options.credentials ?? fromNodeProviderChain(),
    sha256: Sha256,
  });
  const body = JSON.stringify(options.body);
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'https:',
    hostname,
    path: '/',
    query: {},
    headers: { host: hostname, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': options.target },
    body,
  });
  const headers = { ...(signed.headers as Record<string, string>) };
  // fetch sets Host itself (to the same value that was signed).
  delete headers.host;
  const doFetch = options.fetch ?? (fetch as unknown as FetchLike);
  const response = await doFetch(`https://${hostname}/`, { method: 'POST', headers, body });
  const text = await response.text();
  if (!response.ok) {
    throw new ConfigError(
      `${options.target} failed (HTTP ${response.status}): ${text.slice(0, 300)}. Check the secret's name and that this role may read it.`,
    );
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/** A Secrets Manager secret's SecretString (GetSecretValue), or undefined when it holds none. */
async function readSecretString(
  region: string,
  secretId: string,
  fetchImpl: FetchLike | undefined,
): Promise<string | undefined> {
  const out = await awsJsonCall({
    region,
    service: 'secretsmanager',
    target: 'secretsmanager.GetSecretValue',
    body: { SecretId: secretId },
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
  return typeof out.SecretString === 'string' ? out.SecretString : undefined;
}

/** Reads the configured secret; throws ConfigError naming the setting when none is configured. */
export async function resolveUnsubscribeSecret(
  config: Pick<
    SixbackConfig,
    'region' | 'unsubscribeSecret' | 'unsubscribeSecretArn' | 'unsubscribeSecretParameter'
  >,
  fetchImpl?: FetchLike,
): Promise<string> {
  let secret: string | undefined;
  if (config.unsubscribeSecret) secret = config.unsubscribeSecret;
  else if (config.unsubscribeSecretArn) {
    secret = await readSecretString(config.region, config.unsubscribeSecretArn, fetchImpl);
  } else if (config.unsubscribeSecretParameter) {
    const out = await awsJsonCall({
      region: config.region,
      service: 'ssm',
      target: 'AmazonSSM.GetParameter',
      body: { Name: config.unsubscribeSecretParameter, WithDecryption: true },
      ...(fetchImpl ? { fetch: fetchImpl } : {}),
    });
    const parameter = out.Parameter as { Value?: unknown } | undefined;
    secret = typeof parameter?.Value === 'string' ? parameter.Value : undefined;
  } else {
    throw new ConfigError(
      'No unsubscribe secret is configured: set SIXBACK_UNSUBSCRIBE_SECRET_ARN (Secrets Manager) or ' +
        'SIXBACK_UNSUBSCRIBE_SECRET_PARAMETER (SSM SecureString). The CDK stack sets one for you.',
    );
  }
  if (!secret || secret.trim().length < 32) {
    throw new ConfigError('The unsubscribe secret is shorter than 32 characters; generate a longer one.');
  }
  return secret.trim();
}

/**
 * The log key (core/logging.ts PseudonymKey): inline, or read from Secrets Manager; undefined when none is
 * configured (addresses are then redacted rather than hashed).
 */
export async function resolveLogKey(
  config: Pick<SixbackConfig, 'region' | 'logKey' | 'logKeyArn'>,
  fetchImpl?: FetchLike,
): Promise<string | undefined> {
  if (config.logKey) return config.logKey;
  if (!config.logKeyArn) return undefined;
  const key = (await readSecretString(config.region, config.logKeyArn, fetchImpl))?.trim() ?? '';
  if (key.length < 32)
    throw new ConfigError('The log key is shorter than 32 characters; generate a longer one.');
  return key;
}
