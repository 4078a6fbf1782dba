import { Readable } from 'node:stream';
import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { StoredObjectMissingError, stepFunctionsErrorName, toHttpError } from '../../core/errors.ts';
import { objectBody, type StoredObjectKind } from '../../core/workflow/deps.ts';

const s3 = mockClient(S3Client);
const client = new S3Client({ region: 'us-east-1' });

describe('objectBody: a file sixback wrote and reads back', () => {
  beforeEach(() => s3.reset());

  it('returns the object body when it is there', async () => {
    s3.on(GetObjectCommand).resolves({ Body: Readable.from(['a,b\n']) as never });
    const body = await objectBody(client, 'bucket', 'campaigns/c1/prepared.csv', 'prepared recipients file');
    let text = '';
    for await (const chunk of body) text += String(chunk);
    expect(text).toBe('a,b\n');
  });

  it.each<StoredObjectKind>(['prepared recipients file', 'Map result manifest', 'Map result file'])(
    'names the missing %s, not the recipients upload',
    async (what) => {
      s3.on(GetObjectCommand).rejects(
        new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }),
      );
      const error = await objectBody(client, 'b1', 'results/x/SUCCEEDED_0.json', what).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StoredObjectMissingError);
      const message = (error as Error).message;
      expect(message).toContain(what);
      expect(message).toContain('"results/x/SUCCEEDED_0.json"');
      expect(message).toContain('"b1"');
      expect(message).not.toMatch(/upload/i);
      expect((error as StoredObjectMissingError).details).toEqual({
        bucket: 'b1',
        key: 'results/x/SUCCEEDED_0.json',
        what,
      });
      // The state machine sees the class name; the API a 500 that still says what is gone.
      expect(stepFunctionsErrorName(error)).toBe('StoredObjectMissingError');
      expect(toHttpError(error)).toMatchObject({
        status: 500,
        body: { error: { code: 'stored_object_missing', message } },
      });
    },
  );

  it('lets other S3 failures through unchanged, for the retries to handle', async () => {
    const denied = Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    s3.on(GetObjectCommand).rejects(denied);
    await expect(objectBody(client, 'b', 'k', 'Map result file')).rejects.toBe(denied);
  });
});
