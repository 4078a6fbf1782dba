/**
 * AWS Signature Version 4 for the two hot JSON calls sixback makes by the million (SES v2 SendEmail and
 * the ledger's DynamoDB batches): POST, no query string, a handful of headers. It produces the same
 * signed headers as the SDK's SignatureV4 (@smithy/signature-v4) with its defaults (x-amz-date,
 * x-amz-content-sha256, x-amz-security-token when there is a session token), which
 * test/unit/sigv4.test.ts checks byte for byte. @smithy/signature-v4 5.x caches the derived signing key
 * as this does; what this saves is the rest of its per-request work (cloning the request, lower-casing,
 * filtering and sorting the headers on every call, streaming hashes through an async Checksum): measured
 * with `npx tsx bench/sigv4-micro.ts`, both on node:crypto, 7-9 us against 28-31 us per signature for a
 * 2-5 KB body and 77 against 102 us for a 120 KB one (where the body's SHA-256, the same for both,
 * dominates). About 22 us per email and per DynamoDB batch: kept for that.
 */
import { createHash, createHmac, hash } from 'node:crypto';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { HmacSha256 } from './hmac.ts';

export interface PostToSign {
  /** Host header value (hostname, plus :port when not the default). */
  host: string;
  /** Absolute path; only unreserved characters and '/' (checked by the constructor's callers). */
  path: string;
  /** Headers to sign besides host, x-amz-date, x-amz-content-sha256 (and the security token). Lower-case
   * names. */
  headers: Record<string, string>;
  body: Buffer;
}

const SAFE_PATH = /^\/[A-Za-z0-9\-._~/]*$/;

/** True when a path needs no escaping to be its own canonical form (the only paths the signer takes). */
export function isCanonicalPath(path: string): boolean {
  return SAFE_PATH.test(path) && !path.includes('//') && !/\/\.\.?(\/|$)/.test(path);
}

// crypto.hash (Node >= 20.12) is the one-shot digest, without a Hash object per call.
const hex: (data: Buffer | string) => string =
  typeof hash === 'function'
    ? (data) => hash('sha256', data, 'hex')
    : (data) => createHash('sha256').update(data).digest('hex');

/** A header value as SigV4 canonicalises it: trimmed, inner runs of whitespace made one space. */
const MESSY = /^\s|\s$|\s\s|[^\S ]/;
const canonicalValue = (value: string) => (MESSY.test(value) ? value.trim().replace(/\s+/g, ' ') : value);

interface AmzDates {
  /** The whole second since the epoch these are for. */
  second: number;
  /** 20261125T192345Z */
  long: string;
  /** 20261125 */
  short: string;
}

/** 20261125T192345Z and 20261125, from one Date. */
function amzDates(date: Date, second: number): AmzDates {
  const iso = date.toISOString();
  const long = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return { second, long, short: long.slice(0, 8) };
}

export class SigV4Signer {
  /** The signing key of the day (and secret), keyed for the signature's HMAC, with its credential scope. */
  private keyFor: { short: string; secret: string; hmac: HmacSha256; scope: string } | undefined;
  /** The last second's x-amz-date: thousands of requests a second share it, so it is formatted once. */
  private dates: AmzDates | undefined;
  private readonly provider: AwsCredentialIdentityProvider | undefined;
  private readonly fixed: AwsCredentialIdentity | undefined;

  constructor(
    private readonly options: {
      service: string;
      region: string;
      credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
    },
  ) {
    if (typeof options.credentials === 'function') this.provider = options.credentials;
    else this.fixed = options.credentials;
  }

  private names: { keys: string[]; names: string[]; signedHeaders: string } | undefined;

  /** The headers' names sorted, and joined for SignedHeaders; the same set comes every time, so once. */
  private namesOf(headers: Record<string, string>): { names: string[]; signedHeaders: string } {
    const cached = this.names;
    if (cached) {
      // The same names in the same order (each compared as the property key it is, no joined string).
      let i = 0;
      for (const name in headers) {
        if (cached.keys[i] !== name) {
          i = -1;
          break;
        }
        i++;
      }
      if (i === cached.keys.length) return cached;
    }
    const keys = Object.keys(headers);
    const names = [...keys].sort();
    this.names = { keys, names, signedHeaders: names.join(';') };
    return this.names;
  }

  private signingKey(short: string, secret: string): { hmac: HmacSha256; scope: string } {
    const cached = this.keyFor;
    if (cached && cached.short === short && cached.secret === secret) return cached;
    const kDate = createHmac('sha256', `AWS4${secret}`).update(short).digest();
    const kRegion = createHmac('sha256', kDate).update(this.options.region).digest();
    const kService = createHmac('sha256', kRegion).update(this.options.service).digest();
    const key = createHmac('sha256', kService).update('aws4_request').digest();
    const scope = `${short}/${this.options.region}/${this.options.service}/aws4_request`;
    this.keyFor = { short, secret, hmac: new HmacSha256(key), scope };
    return this.keyFor;
  }

  private datesOf(date: Date): AmzDates {
    const second = Math.floor(date.getTime() / 1000);
    const cached = this.dates;
    if (cached && cached.second === second) return cached;
    this.dates = amzDates(date, second);
    return this.dates;
  }

  /** The headers to send: the request's own, plus host, x-amz-date, x-amz-content-sha256,
   * x-amz-security-token and authorization. */
  async sign(request: PostToSign, date = new Date()): Promise<Record<string, string>> {
    const credentials = this.fixed ?? (await (this.provider as AwsCredentialIdentityProvider)());
    const { long, short } = this.datesOf(date);
    const payloadHash = hex(request.body);
    const own = request.headers;
    const headers: Record<string, string> = {};
    for (const name of Object.keys(own)) headers[name] = own[name] as string;
    headers.host = request.host;
    headers['x-amz-content-sha256'] = payloadHash;
    headers['x-amz-date'] = long;
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
    const { names, signedHeaders } = this.namesOf(headers);
    let canonicalHeaders = '';
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      canonicalHeaders += `${name}:${canonicalValue(String(headers[name]))}\n`;
    }
    const canonicalRequest = `POST\n${request.path}\n\n${canonicalHeaders}\n${signedHeaders}\n${payloadHash}`;
    const { hmac, scope } = this.signingKey(short, credentials.secretAccessKey);
    const stringToSign = `AWS4-HMAC-SHA256\n${long}\n${scope}\n${hex(canonicalRequest)}`;
    const signature = hmac.hex(stringToSign);
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  }
}
