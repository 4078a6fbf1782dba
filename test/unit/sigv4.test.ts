import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCanonicalPath, SigV4Signer } from '../../core/aws/fast/sigv4.ts';
import { NodeSha256 } from '../support/node-sha256.ts';

const CREDENTIALS = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};

/** What the SDK's signer produces for the same request at the same instant. */
async function smithy(
  service: string,
  credentials: typeof CREDENTIALS & { sessionToken?: string },
  request: { host: string; path: string; headers: Record<string, string>; body: string },
  date: Date,
) {
  const signer = new SignatureV4({ service, region: 'eu-west-1', credentials, sha256: NodeSha256 });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'https:',
      hostname: request.host.split(':')[0] as string,
      path: request.path,
      query: {},
      headers: { ...request.headers, host: request.host },
      body: request.body,
    },
    { signingDate: date },
  );
  return signed.headers;
}

describe('SigV4Signer', () => {
  const body = JSON.stringify({ Content: { Simple: { Subject: { Data: 'Ünïcödé 🎉  two  spaces' } } } });
  const request = {
    host: 'email.eu-west-1.amazonaws.com',
    path: '/v2/email/outbound-emails',
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
    body,
  };

  it('signs exactly as the SDK signer does (every header, byte for byte)', async () => {
    const date = new Date('2026-11-25T19:23:45.678Z');
    const ours = await new SigV4Signer({
      service: 'ses',
      region: 'eu-west-1',
      credentials: CREDENTIALS,
    }).sign({ ...request, body: Buffer.from(body) }, date);
    expect(ours).toEqual(await smithy('ses', CREDENTIALS, request, date));
    expect(ours.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261125\/eu-west-1\/ses\//,
    );
  });

  it('signs the session token, a port in the host and a DynamoDB target header like the SDK', async () => {
    const date = new Date('2026-01-02T03:04:05Z');
    const credentials = { ...CREDENTIALS, sessionToken: 'FQoG//token+with/slashes==' };
    const dynamo = {
      host: 'localhost:4567',
      path: '/',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.BatchWriteItem',
        'content-length': '2',
      },
      body: '{}',
    };
    const signer = new SigV4Signer({
      service: 'dynamodb',
      region: 'eu-west-1',
      credentials: async () => credentials,
    });
    const ours = await signer.sign({ ...dynamo, body: Buffer.from(dynamo.body) }, date);
    expect(ours).toEqual(await smithy('dynamodb', credentials, dynamo, date));
    expect(ours['x-amz-security-token']).toBe(credentials.sessionToken);
  });

  it('derives a new signing key when the day or the credentials change', async () => {
    let secret = CREDENTIALS.secretAccessKey;
    const signer = new SigV4Signer({
      service: 'ses',
      region: 'eu-west-1',
      credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: secret }),
    });
    const sign = (date: Date) => signer.sign({ ...request, body: Buffer.from(body) }, date);
    const day1 = new Date('2026-11-25T23:59:59Z');
    const day2 = new Date('2026-11-26T00:00:01Z');
    expect(await sign(day1)).toEqual(await smithy('ses', CREDENTIALS, request, day1));
    expect(await sign(day2)).toEqual(await smithy('ses', CREDENTIALS, request, day2));
    secret = 'rotated-secret';
    expect(await sign(day2)).toEqual(
      await smithy('ses', { ...CREDENTIALS, secretAccessKey: secret }, request, day2),
    );
  });

  it('signs like the SDK across generated instants, bodies and header sets, one signer for all (its caches)', async () => {
    const signer = new SigV4Signer({ service: 'ses', region: 'eu-west-1', credentials: CREDENTIALS });
    // Instants in runs: the same second again (another millisecond), the next second, across midnight.
    const start = Date.parse('2026-11-25T23:59:58.000Z');
    const step = fc.oneof(
      fc.constant(0),
      fc.integer({ min: 1, max: 999 }),
      fc.integer({ min: 1, max: 90_000 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            step,
            fc.string({ unit: 'grapheme', maxLength: 200 }),
            // The header set changes now and then (another operation, a header more or fewer, another order).
            fc.constantFrom(
              [] as [string, string][],
              [['x-amz-target', 'DynamoDB_20120810.BatchWriteItem']] as [string, string][],
              [['x-amz-target', 'DynamoDB_20120810.BatchGetItem']] as [string, string][],
              [['x-extra', '  two  spaces ']] as [string, string][],
            ),
            fc.boolean(),
          ),
          { minLength: 1, maxLength: 8 },
        ),
        async (sends) => {
          let at = start;
          for (const [delta, text, extra, lengthFirst] of sends) {
            at += delta;
            const date = new Date(at);
            const body = JSON.stringify({ text });
            const length = String(Buffer.byteLength(body));
            const headers: Record<string, string> = lengthFirst
              ? { 'content-length': length, 'content-type': 'application/json' }
              : { 'content-type': 'application/json', 'content-length': length };
            for (const [name, value] of extra) headers[name] = value;
            const signed = { ...request, headers, body };
            const ours = await signer.sign({ ...signed, body: Buffer.from(body) }, date);
            expect(ours).toEqual(await smithy('ses', CREDENTIALS, signed, date));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('only takes paths that are already canonical', () => {
    expect(isCanonicalPath('/v2/email/outbound-emails')).toBe(true);
    expect(isCanonicalPath('/')).toBe(true);
    expect(isCanonicalPath('/a b')).toBe(false);
    expect(isCanonicalPath('/a/../b')).toBe(false);
    expect(isCanonicalPath('/a//b')).toBe(false);
    expect(isCanonicalPath('relative')).toBe(false);
  });
});
