/**
 * Where webhooks may go. Outbound requests go only to the URL a subscriber configured, and only over
 * http(s). On AWS the sender runs inside the account's network, so a URL naming (or resolving to) a
 * private, loopback or link-local address (the instance metadata service at 169.254.169.254 among them)
 * is refused unless the deployment allows private targets: otherwise anyone who may add a webhook could
 * make sixback probe internal services (SSRF). The local stack allows them (receivers run on 127.0.0.1).
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { WebhookUrlRefusedError } from '../errors.ts';

const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv6');

export function isPrivateAddress(ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  if (mapped) return PRIVATE.check(mapped, 'ipv4');
  const family = isIP(ip);
  if (family === 0) return false;
  return PRIVATE.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

export interface UrlPolicy {
  allowPrivate: boolean;
  resolve?: (host: string) => Promise<string[]>;
}

const defaultResolve = async (host: string) => (await lookup(host, { all: true })).map((a) => a.address);

/** Checks the URL's form (when a subscription is saved and before every delivery). */
export function checkWebhookUrlForm(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlRefusedError(`"${raw}" is not a URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new WebhookUrlRefusedError(`Webhook URLs are http(s) only, not ${url.protocol}`);
  if (url.username || url.password)
    throw new WebhookUrlRefusedError('Webhook URLs carry no credentials; the signature proves the sender.');
  return url;
}

/**
 * Checks the URL and, unless private targets are allowed, every address its host resolves to. Run before
 * each delivery too, so a name re-pointed at an internal address after it was saved is still refused.
 */
export async function checkWebhookUrl(raw: string, policy: UrlPolicy): Promise<URL> {
  const url = checkWebhookUrlForm(raw);
  if (policy.allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [host] : await (policy.resolve ?? defaultResolve)(host).catch(() => []);
  if (addresses.length === 0) throw new WebhookUrlRefusedError(`${host} does not resolve.`);
  const inside = addresses.find(isPrivateAddress);
  if (inside)
    throw new WebhookUrlRefusedError(
      `${host} is a private, loopback or link-local address (${inside}); set webhookAllowPrivate to allow it.`,
    );
  return url;
}
