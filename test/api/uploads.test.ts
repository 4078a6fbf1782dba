/**
 * Uploads: the signed POST policy (what real S3 enforces) and the server's own re-check of what was stored
 * (what protects the local stack, whose S3 enforces no policy).
 */
import { randomUUID } from 'node:crypto';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  assertUploaded,
  issueUploadKey,
  presignUpload,
  UPLOAD_RULES,
} from '../../core/recipients/uploads.ts';
import { seeded } from '../support/seeded.ts';

const s3 = new S3Client({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
});
const KEY_SECRET = 'k'.repeat(40);
const deps = {
  s3,
  bucket: 'sixback-test',
  clock: () => new Date('2026-11-25T10:00:00Z'),
  keySecret: async () => KEY_SECRET,
};
const s3Mock = mockClient(s3);
afterEach(() => s3Mock.reset());

describe('presignUpload', () => {
  it('signs a policy bound to one server-chosen key, a size range and one content type', async () => {
    const upload = await presignUpload({ kind: 'recipients', contentType: 'text/csv' }, deps);
    expect(upload.key).toMatch(/^uploads\/recipients\/2026-11-25\/[0-9a-f-]{36}\.[0-9a-f]{32}\.csv$/);
    expect(upload.url).toMatch(/sixback-test/);
    const policy = JSON.parse(Buffer.from(upload.fields.Policy as string, 'base64').toString('utf8'));
    const ttl = Date.parse(policy.expiration) - Date.now();
    expect(ttl).toBeGreaterThan(14 * 60_000);
    expect(ttl).toBeLessThanOrEqual(15 * 60_000);
    expect(upload.expiresAt).toBe(new Date(policy.expiration).toISOString());
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        ['content-length-range', 1, UPLOAD_RULES.recipients.maxBytes],
        ['eq', '$Content-Type', 'text/csv'],
        ['eq', '$key', upload.key],
        { bucket: 'sixback-test' },
      ]),
    );
    expect(upload.fields['X-Amz-Signature']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives two requests two different keys', async () => {
    const [a, b] = await Promise.all([
      presignUpload({ kind: 'image', contentType: 'image/png' }, deps),
      presignUpload({ kind: 'image', contentType: 'image/png' }, deps),
    ]);
    expect(a.key).not.toBe(b.key);
    expect(a.key.startsWith('images/')).toBe(true);
  });

  it('hands out an image URL on the public images origin, never on the private bucket', async () => {
    const onAws = await presignUpload(
      { kind: 'image', contentType: 'image/png' },
      { ...deps, imagesBaseUrl: 'https://d111.cloudfront.net/' },
    );
    expect(onAws.publicUrl).toBe(`https://d111.cloudfront.net/${onAws.key}`);
    // Locally there is no CDN: the local S3 serves the object at the upload URL.
    const local = await presignUpload({ kind: 'image', contentType: 'image/png' }, deps);
    expect(local.publicUrl).toBe(`${local.url.replace(/\/$/, '')}/${local.key}`);
    const csv = await presignUpload({ kind: 'recipients', contentType: 'text/csv' }, deps);
    expect(csv.publicUrl).toBeUndefined();
  });

  it('refuses a type or size its kind does not allow', async () => {
    await expect(presignUpload({ kind: 'recipients', contentType: 'application/zip' }, deps)).rejects.toThrow(
      /must be text\/csv/,
    );
    await expect(
      presignUpload({ kind: 'image', contentType: 'image/png', size: 5 * 1024 * 1024 + 1 }, deps),
    ).rejects.toThrow(/at most/);
  });
});

describe('assertUploaded', () => {
  const key = issueUploadKey(
    KEY_SECRET,
    'recipients',
    '2026-11-25',
    '0b8f3c1e-5d2a-4f6b-9c7d-1e2f3a4b5c6d',
    'csv',
  );

  it('accepts an object within its limits', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 120, ContentType: 'text/csv; charset=utf-8' });
    expect(await assertUploaded(key, 'recipients', deps)).toEqual({
      key,
      size: 120,
      contentType: 'text/csv',
    });
  });

  it('refuses an oversize object even though S3 stored it', async () => {
    s3Mock
      .on(HeadObjectCommand)
      .resolves({ ContentLength: UPLOAD_RULES.recipients.maxBytes + 1, ContentType: 'text/csv' });
    await expect(assertUploaded(key, 'recipients', deps)).rejects.toMatchObject({
      code: 'upload_rejected',
      details: { problem: 'too large' },
    });
  });

  it('refuses a wrong content type, an empty object, a missing one, and keys outside the prefix', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 10, ContentType: 'text/html' });
    await expect(assertUploaded(key, 'recipients', deps)).rejects.toMatchObject({
      details: { problem: 'content type' },
    });
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 0, ContentType: 'text/csv' });
    await expect(assertUploaded(key, 'recipients', deps)).rejects.toMatchObject({
      details: { problem: 'empty' },
    });
    s3Mock
      .on(HeadObjectCommand)
      .rejects(
        Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
      );
    await expect(assertUploaded(key, 'recipients', deps)).rejects.toMatchObject({
      details: { problem: 'missing' },
    });
    await expect(assertUploaded('campaigns/c1/report.csv', 'recipients', deps)).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(
      assertUploaded('uploads/recipients/../../campaigns/c1/report.csv', 'recipients', deps),
    ).rejects.toMatchObject({
      code: 'validation_failed',
    });
    expect(s3Mock.commandCalls(HeadObjectCommand)).toHaveLength(3);
  });

  it('refuses a key with a NUL or another control character as a 400, before S3 sees it', async () => {
    for (const bad of [
      `${key}\u0000`,
      `uploads/recipients/\u0000x.csv`,
      `${key.slice(0, 30)}\n${key.slice(30)}`,
    ]) {
      await expect(assertUploaded(bad, 'recipients', deps)).rejects.toMatchObject({
        code: 'validation_failed',
        details: [{ path: 'key', problem: 'contains a control character' }],
        message: expect.not.stringContaining('\u0000'),
      });
    }
    expect(s3Mock.commandCalls(HeadObjectCommand)).toHaveLength(0);
  });

  it('accepts only keys it issued: any other key under the prefix, or a changed issued key, is refused', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 120, ContentType: 'text/csv' });
    const issued = (await presignUpload({ kind: 'recipients', contentType: 'text/csv' }, deps)).key;
    expect((await assertUploaded(issued, 'recipients', deps)).key).toBe(issued);
    const random = seeded(9);
    const forged = [
      'uploads/recipients/2026-11-25/x.csv',
      'uploads/recipients/2026-01-01/sneaky.csv',
      issued.replace(/\.[0-9a-f]{32}\./, '.'),
      issueUploadKey(
        'another-secret-another-secret-another',
        'recipients',
        '2026-11-25',
        randomUUID(),
        'csv',
      ),
      // A key issued for images is not a recipients key even when moved under the recipients prefix.
      issueUploadKey(KEY_SECRET, 'image', '2026-11-25', randomUUID(), 'png').replace(
        'images/',
        'uploads/recipients/',
      ),
    ];
    for (let i = 0; i < 200; i++) {
      const at = random.int(issued.length);
      const c = random.pick([...'0123456789abcdef-./xA']);
      const mutated = issued.slice(0, at) + c + issued.slice(at + 1);
      if (mutated !== issued) forged.push(mutated);
    }
    for (const bad of forged) {
      await expect(assertUploaded(bad, 'recipients', deps), bad).rejects.toMatchObject({
        code: 'validation_failed',
      });
    }
    // Only the issued key reached S3.
    expect(s3Mock.commandCalls(HeadObjectCommand)).toHaveLength(1);
  });
});
