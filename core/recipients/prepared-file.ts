/**
 * The prepared file in S3, written in the same streaming pass that checks the user's upload: each chunk of
 * prepared rows goes to a multipart upload as the scan produces it. Campaign creation does this once; the
 * Prepare step then only verifies that the upload is still the object that pass read (its ETag, which S3
 * changes with the object's content) instead of reading and checking the whole file a second time.
 */
import type { Readable } from 'node:stream';
import { Readable as ReadableStream } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { CampaignRecord, PreparedFileRef, RecipientsCheck } from '../campaigns/store.ts';
import { keys } from '../config.ts';
import { RecipientsChangedError, RecipientsFileError } from '../errors.ts';
import type { CampaignSpec } from '../schemas.ts';
import { assertVariablesProvided, type CompiledTemplate } from '../templates/render.ts';
import { preparedChunks, RecipientsScanner } from './scanner.ts';

export type UploadSource = PreparedFileRef['source'];

const httpStatus = (error: unknown) =>
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

/**
 * GetObject of an upload, with the ETag and VersionId of exactly the bytes it returns (one GetObject reads
 * one version, even if the key is overwritten while it streams). `missing` makes the error for no object.
 */
export async function openUpload(
  s3: S3Client,
  bucket: string,
  key: string,
  missing: () => Error,
): Promise<{ body: Readable; source: UploadSource }> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return {
      body: out.Body as Readable,
      source: { key, etag: out.ETag ?? '', ...(out.VersionId ? { versionId: out.VersionId } : {}) },
    };
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey' || httpStatus(error) === 404) throw missing();
    throw error;
  }
}

/** The one answer, at creation or at Prepare, when a campaign's recipients key names no object. */
export function noUploadError(key: string): RecipientsFileError {
  return new RecipientsFileError(
    `No recipients file is in the bucket at "${key}" (never uploaded, or deleted since). Upload the CSV ` +
      '(POST /v1/uploads, then send the file with the returned fields) and use the key it returns.',
    { details: { key, problem: 'missing' } },
  );
}

/**
 * Opens a campaign's upload (openUpload) and a scanner over it with the campaign's options, the template's
 * variables checked against the header: the one reading of the file, whether creation or Prepare does it.
 */
export async function openRecipientsScan(
  s3: S3Client,
  bucket: string,
  spec: Pick<CampaignSpec, 'recipientsKey' | 'emailColumn' | 'shortRows' | 'data'>,
  template: CompiledTemplate,
): Promise<{ body: Readable; source: UploadSource; scanner: RecipientsScanner }> {
  const { body, source } = await openUpload(s3, bucket, spec.recipientsKey, () =>
    noUploadError(spec.recipientsKey),
  );
  const dataKeys = Object.keys(spec.data ?? {});
  const scanner = new RecipientsScanner(body, {
    emailColumn: spec.emailColumn,
    shortRows: spec.shortRows,
    onHeader: (columns) => assertVariablesProvided(template, columns, dataKeys),
  });
  return { body, source, scanner };
}

/**
 * Scans the upload with `scanner` and streams the prepared file to `key` as it goes. `accept` sees the
 * finished check before the upload is completed and may throw (an unsendable file): then, as when the scan
 * itself throws, the multipart upload is aborted and no object is left. Returns the check.
 */
export async function writePreparedFile(
  s3: S3Client,
  bucket: string,
  key: string,
  scanner: RecipientsScanner,
  accept?: (check: RecipientsCheck) => void,
): Promise<RecipientsCheck> {
  async function* chunks() {
    yield* preparedChunks(scanner);
    accept?.(scanner.check);
  }
  await new Upload({
    client: s3,
    params: {
      Bucket: bucket,
      Key: key,
      Body: ReadableStream.from(chunks()),
      ContentType: 'text/csv; charset=utf-8',
    },
  }).done();
  return scanner.check;
}

/** Where a campaign's prepared file is (records from before PreparedFileRef: the one key per campaign). */
export function preparedKeyOf(campaign: Pick<CampaignRecord, 'id' | 'prepared'>): string {
  return campaign.prepared?.key ?? keys.prepared(campaign.id);
}

/**
 * Throws RecipientsChangedError unless the upload at `source.key` is still the object `source` describes.
 * Its ETag decides: S3 changes it with the content (not the metadata), so an upload of other bytes is
 * caught; the same bytes uploaded again in one part keep their ETag and prepare to the same file. (An ETag
 * of a multipart or SSE-KMS upload is not the MD5 of its bytes, and the same bytes can get another one:
 * that is refused too, which errs on the safe side.) HeadObject, so nothing is read.
 */
export async function assertUploadUnchanged(
  s3: S3Client,
  bucket: string,
  source: UploadSource,
): Promise<void> {
  let etag: string | undefined;
  try {
    etag = (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: source.key }))).ETag;
  } catch (error) {
    if (httpStatus(error) !== 404) throw error;
    throw new RecipientsChangedError(
      `The recipients file "${source.key}" was deleted after the campaign was created; nothing was sent. Upload it again and create the campaign again.`,
      { details: { key: source.key, etag: source.etag } },
    );
  }
  if (etag !== source.etag) {
    throw new RecipientsChangedError(
      `The recipients file "${source.key}" was replaced after the campaign was created (ETag ${source.etag} when it was checked, ${etag} now); nothing was sent. Resume the campaign to check and send the new file, or create a new campaign.`,
      { details: { key: source.key, checkedETag: source.etag, currentETag: etag ?? null } },
    );
  }
}

/** Removes a prepared file nobody will use (a creation that failed after writing it); failures are ignored. */
export async function discardPreparedFile(s3: S3Client, bucket: string, key: string): Promise<void> {
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
}
