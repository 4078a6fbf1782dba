/**
 * Uploads straight from the client to S3 with a presigned POST. The server chooses the key (under the
 * prefix of the upload's kind) and signs a policy limiting size, content type and key; the client never
 * names an object. Because a local S3 (s3rver) enforces none of the policy conditions, and because a
 * policy only guards the upload itself, the server re-checks the stored object (HeadObject) before
 * using it.
 *
 * The key also carries an HMAC of itself under the API's secret (the unsubscribe secret, domain
 * separated), so the API accepts only keys it issued: an object someone wrote under the prefix by other
 * means (a local S3 takes any PUT) is refused, locally and on AWS, without a database lookup.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import type { RecipientsCheck } from '../campaigns/store.ts';
import { keys } from '../config.ts';
import { UploadRejectedError, ValidationError } from '../errors.ts';
import type { ShortRowAction } from '../schemas.ts';
import { checkRecipients, RecipientsScanner, unpackVars } from './scanner.ts';

export type UploadKind = 'recipients' | 'image';

interface UploadRule {
  prefix: string;
  maxBytes: number;
  /** Content type -> key extension. */
  types: Record<string, string>;
}

/** A 10-million-row CSV of a few columns is about 700 MB; 1 GiB leaves room without inviting abuse. */
export const UPLOAD_RULES: Record<UploadKind, UploadRule> = {
  recipients: {
    prefix: keys.recipientsUploadPrefix,
    maxBytes: 1024 * 1024 * 1024,
    types: { 'text/csv': 'csv' },
  },
  image: {
    prefix: keys.imagesPrefix,
    maxBytes: 5 * 1024 * 1024,
    types: { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp' },
  },
};

/** How long a presigned upload stays usable. */
export const UPLOAD_EXPIRES_SECONDS = 15 * 60;

export interface UploadDeps {
  s3: S3Client;
  bucket: string;
  clock: () => Date;
  /** Public origin serving `images/` (CloudFront on AWS); unset locally, where the S3 URL itself works. */
  imagesBaseUrl?: string | undefined;
  /** The secret that signs issued keys (the API's unsubscribe secret); loaded once, then cached by its owner. */
  keySecret: () => Promise<string>;
}

/** `<prefix><yyyy-mm-dd>/<uuid>.<mac>.<ext>`: the only shape of key presignUpload issues. */
const ISSUED_KEY =
  /^(\d{4}-\d{2}-\d{2})\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([0-9a-f]{32})\.([a-z]{3,4})$/;

function keyMac(secret: string, kind: UploadKind, unsigned: string): string {
  // Domain-separated: the same secret signs unsubscribe tokens, which must never pass as a key, or back.
  return createHmac('sha256', secret)
    .update(`sixback/upload-key/v1\n${kind}\n${unsigned}`)
    .digest()
    .subarray(0, 16)
    .toString('hex');
}

/** The key presignUpload issues for `kind`, signed so assertUploaded can tell it was issued here. */
export function issueUploadKey(
  secret: string,
  kind: UploadKind,
  date: string,
  id: string,
  ext: string,
): string {
  const prefix = UPLOAD_RULES[kind].prefix;
  return `${prefix}${date}/${id}.${keyMac(secret, kind, `${prefix}${date}/${id}.${ext}`)}.${ext}`;
}

/** True when `key` is exactly a key issueUploadKey made for `kind` under `secret` (constant-time MAC check). */
export function isIssuedUploadKey(secret: string, kind: UploadKind, key: string): boolean {
  const prefix = UPLOAD_RULES[kind].prefix;
  if (!key.startsWith(prefix)) return false;
  const match = ISSUED_KEY.exec(key.slice(prefix.length));
  if (!match) return false;
  const [, date, id, mac, ext] = match as unknown as [string, string, string, string, string];
  if (!Object.values(UPLOAD_RULES[kind].types).includes(ext)) return false;
  const expected = Buffer.from(keyMac(secret, kind, `${prefix}${date}/${id}.${ext}`), 'ascii');
  return timingSafeEqual(expected, Buffer.from(mac, 'ascii'));
}

/** Printable for an error message: control characters (a NUL) shown as escapes, length bounded. */
function shown(key: string): string {
  let out = '';
  for (const c of key.slice(0, 200)) {
    const code = c.charCodeAt(0);
    out += code < 0x20 || code === 0x7f ? `\\u${code.toString(16).padStart(4, '0')}` : c;
  }
  return key.length > 200 ? `${out}...` : out;
}

export interface PresignedUpload {
  kind: UploadKind;
  key: string;
  /** POST a multipart form to `url` with every field of `fields`, then the file as the last field, `file`. */
  url: string;
  fields: Record<string, string>;
  contentType: string;
  maxBytes: number;
  expiresAt: string;
  /** For images: the URL mail clients will fetch it from once uploaded. */
  publicUrl?: string;
}

function ruleFor(kind: UploadKind, contentType: string): UploadRule {
  const rule = UPLOAD_RULES[kind];
  if (!(contentType in rule.types)) {
    throw new ValidationError(
      `A ${kind} upload must be ${Object.keys(rule.types).join(' or ')}, not "${contentType}".`,
      { details: [{ path: 'contentType', problem: `one of ${Object.keys(rule.types).join(', ')}` }] },
    );
  }
  return rule;
}

export async function presignUpload(
  request: { kind: UploadKind; contentType: string; size?: number | undefined },
  deps: UploadDeps,
): Promise<PresignedUpload> {
  const rule = ruleFor(request.kind, request.contentType);
  if (request.size !== undefined && request.size > rule.maxBytes) {
    throw new ValidationError(
      `The file is ${request.size} bytes; a ${request.kind} upload may be ${rule.maxBytes} bytes at most.`,
      { details: [{ path: 'size', problem: `at most ${rule.maxBytes}` }] },
    );
  }
  const now = deps.clock();
  const key = issueUploadKey(
    await deps.keySecret(),
    request.kind,
    now.toISOString().slice(0, 10),
    randomUUID(),
    rule.types[request.contentType] as string,
  );
  const { url, fields } = await createPresignedPost(deps.s3, {
    Bucket: deps.bucket,
    Key: key,
    Conditions: [
      ['content-length-range', 1, rule.maxBytes],
      ['eq', '$Content-Type', request.contentType],
      ['eq', '$key', key],
    ],
    Fields: { 'Content-Type': request.contentType },
    Expires: UPLOAD_EXPIRES_SECONDS,
  });
  // The bucket stays private: images are served by the images origin, which only exposes `images/`.
  const publicUrl =
    request.kind === 'image' ? `${(deps.imagesBaseUrl ?? url).replace(/\/$/, '')}/${key}` : undefined;
  return {
    kind: request.kind,
    key,
    url,
    fields,
    ...(publicUrl ? { publicUrl } : {}),
    contentType: request.contentType,
    maxBytes: rule.maxBytes,
    // The signer dates the policy by the system clock: report the expiry it actually signed.
    expiresAt: new Date(
      JSON.parse(Buffer.from(fields.Policy ?? '', 'base64').toString('utf8') || '{}').expiration ??
        now.getTime() + UPLOAD_EXPIRES_SECONDS * 1000,
    ).toISOString(),
  };
}

export interface UploadedObject {
  key: string;
  size: number;
  contentType: string;
}

/**
 * Checks that `key` is an uploaded object of `kind` that honours its policy: right prefix, present, not
 * empty, not over the size limit, an allowed content type. Keys outside the prefix are refused so the
 * API can never be pointed at another campaign's report or prepared file.
 */
export async function assertUploaded(
  key: string,
  kind: UploadKind,
  deps: UploadDeps,
): Promise<UploadedObject> {
  const rule = UPLOAD_RULES[kind];
  // Checked before S3 sees the key: a NUL or other control character makes the SDK throw (a 500 before).
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
  if (/[\u0000-\u001f\u007f]/.test(key)) {
    throw new ValidationError(
      `"${shown(key)}" is not a ${kind} upload key: it contains a control character. Use the key POST /v1/uploads returned.`,
      { details: [{ path: 'key', problem: 'contains a control character' }] },
    );
  }
  if (!key.startsWith(rule.prefix) || key.includes('..')) {
    throw new ValidationError(
      `"${shown(key)}" is not a ${kind} upload: its key must start with "${rule.prefix}".`,
      {
        details: [{ path: 'key', problem: `must start with ${rule.prefix}` }],
      },
    );
  }
  if (!isIssuedUploadKey(await deps.keySecret(), kind, key)) {
    throw new ValidationError(
      `"${shown(key)}" is not a key this API issued. Ask POST /v1/uploads for an upload, send the file ` +
        'with the returned fields, and use the key it returned.',
      { details: [{ path: 'key', problem: 'not issued by this API' }] },
    );
  }
  let head: { ContentLength?: number | undefined; ContentType?: string | undefined };
  try {
    head = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.bucket, Key: key }));
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || (error as Error).name === 'NotFound') {
      throw new UploadRejectedError(`Nothing was uploaded to "${key}" (or the upload has not finished).`, {
        details: { key, problem: 'missing' },
      });
    }
    throw error;
  }
  const size = head.ContentLength ?? 0;
  const contentType = (head.ContentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (size === 0) {
    throw new UploadRejectedError(`The upload "${key}" is empty.`, { details: { key, problem: 'empty' } });
  }
  if (size > rule.maxBytes) {
    throw new UploadRejectedError(
      `The upload "${key}" is ${size} bytes; a ${kind} upload may be ${rule.maxBytes} bytes at most.`,
      { details: { key, problem: 'too large', size, maxBytes: rule.maxBytes } },
    );
  }
  if (!(contentType in rule.types)) {
    throw new UploadRejectedError(
      `The upload "${key}" has content type "${contentType}"; a ${kind} upload must be ${Object.keys(rule.types).join(' or ')}.`,
      { details: { key, problem: 'content type', contentType } },
    );
  }
  return { key, size, contentType };
}

export interface RecipientsUploadCheck extends RecipientsCheck {
  key: string;
  size: number;
}

/** Streams an uploaded recipients CSV through every check a campaign would make, and sends nothing. */
export async function checkRecipientsUpload(
  key: string,
  deps: UploadDeps,
  options: { emailColumn?: string | undefined; shortRows?: ShortRowAction | undefined } = {},
): Promise<RecipientsUploadCheck> {
  const object = await assertUploaded(key, 'recipients', deps);
  const out = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key }));
  const body = out.Body as Readable;
  try {
    const check = await checkRecipients(body, {
      emailColumn: options.emailColumn,
      shortRows: options.shortRows,
    });
    return { key, size: object.size, ...check };
  } finally {
    body.destroy();
  }
}

/** The first data row of an uploaded recipients CSV as variables (previews and test sends use it). */
export async function firstRecipientRow(
  key: string,
  deps: UploadDeps,
  options: { emailColumn?: string | undefined } = {},
): Promise<Record<string, string>> {
  await assertUploaded(key, 'recipients', deps);
  const out = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key }));
  const body = out.Body as Readable;
  try {
    const scanner = new RecipientsScanner(body, { emailColumn: options.emailColumn });
    for await (const row of scanner.rows()) {
      if (row.state === 'ok') return unpackVars(row.vars, scanner.check.columns);
    }
    return {};
  } finally {
    body.destroy();
  }
}
