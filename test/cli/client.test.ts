/** How the CLI picks its API and signs for a deployed one (SigV4, service execute-api). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../cli/client.ts';
import { CliError, EXIT, exitCodeForStatus } from '../../cli/exit.ts';
import { regionOfApiUrl, resolveTarget } from '../../cli/target.ts';

describe('resolveTarget', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sixback-target-'));
  writeFileSync(
    join(dir, 'api.json'),
    JSON.stringify({ url: 'http://127.0.0.1:8787', token: 'dev-token-1234567890' }),
  );
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prefers flags, then the environment, then the data folder', () => {
    expect(
      resolveTarget({ api: 'http://h:1', token: 't' }, { SIXBACK_API_URL: 'http://e:2', SIXBACK_TOKEN: 'e' }),
    ).toMatchObject({
      url: 'http://h:1',
      auth: 'bearer',
      token: 't',
    });
    expect(resolveTarget({}, { SIXBACK_API_URL: 'http://e:2/', SIXBACK_TOKEN: 'e' })).toMatchObject({
      url: 'http://e:2',
      token: 'e',
    });
    expect(resolveTarget({ dataDir: dir }, {})).toMatchObject({
      url: 'http://127.0.0.1:8787',
      token: 'dev-token-1234567890',
    });
    expect(resolveTarget({ api: 'http://127.0.0.1:8787', dataDir: dir }, {})).toMatchObject({
      auth: 'bearer',
    });
  });

  it('signs with AWS credentials for a URL with no token, in the URL region', () => {
    const url = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
    expect(regionOfApiUrl(url)).toBe('eu-west-1');
    expect(resolveTarget({ api: url }, {})).toEqual({
      url,
      auth: 'sigv4',
      region: 'eu-west-1',
      source: '--api',
    });
    expect(resolveTarget({ api: 'https://api.example.com' }, { AWS_REGION: 'ap-northeast-2' })).toMatchObject(
      {
        region: 'ap-northeast-2',
      },
    );
  });

  it('explains what is missing', () => {
    expect(() => resolveTarget({ dataDir: join(dir, 'none') }, {})).toThrow(/sixback dev/);
    expect(() => resolveTarget({ token: 'x' }, {})).toThrow(/needs an API URL/);
    expect(() => resolveTarget({ api: 'not a url' }, {})).toThrow(CliError);
    expect(() => resolveTarget({ api: 'https://api.example.com' }, {})).toThrow(/region/);
  });
});

describe('ApiClient', () => {
  let server: Server;
  let url: string;
  const seen: { headers: IncomingHttpHeaders; body: string; url: string }[] = [];
  /** Requests to /v1/slow are held unanswered until the end (an API slower than the CLI waits). */
  const held: ServerResponse[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        seen.push({ headers: req.headers, body, url: req.url ?? '' });
        if (req.url?.startsWith('/v1/slow')) {
          held.push(res);
          return;
        }
        const status = req.url?.startsWith('/v1/denied') ? 403 : 200;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(status === 200 ? '{"ok":true}' : '{"message":"Forbidden"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    for (const res of held) res.end();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('signs each request with SigV4 for execute-api, body and query included', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
    process.env.AWS_SESSION_TOKEN = 'session-token';
    try {
      const client = new ApiClient({ url, auth: 'sigv4', region: 'eu-west-1', source: 'test' });
      expect(await client.json('POST', '/v1/campaigns?limit=5', { body: { a: 1 } })).toEqual({ ok: true });
      const request = seen.at(-1);
      expect(request?.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
      );
      expect(request?.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
      expect(request?.headers['x-amz-security-token']).toBe('session-token');
      expect(request?.body).toBe('{"a":1}');
      expect(request?.url).toBe('/v1/campaigns?limit=5');

      // API Gateway's own refusal of a signature is an auth failure (exit 3), with a hint.
      const denied = await client.json('GET', '/v1/denied').catch((error: CliError) => error);
      expect(denied).toBeInstanceOf(CliError);
      expect(denied).toMatchObject({
        exitCode: EXIT.auth,
        message: expect.stringMatching(/Forbidden.*execute-api:Invoke/),
      });
    } finally {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      delete process.env.AWS_SESSION_TOKEN;
    }
  });

  it('sends the bearer token to a local API', async () => {
    const client = new ApiClient({ url, auth: 'bearer', token: 'tok-1234567890abcdef', source: 'test' });
    await client.json('GET', '/v1/health');
    expect(seen.at(-1)?.headers.authorization).toBe('Bearer tok-1234567890abcdef');
  });

  it('tells an API that did not answer in time from one it cannot reach', async () => {
    const target = { url, auth: 'bearer', token: 'tok-1234567890abcdef', source: 'test' } as const;
    const slow = await new ApiClient(target, 200)
      .json('POST', '/v1/slow/pick', { body: { variant: 'B' } })
      .catch((error: CliError) => error);
    expect(slow).toBeInstanceOf(CliError);
    expect(slow).toMatchObject({
      exitCode: EXIT.server,
      message: expect.stringMatching(
        /did not answer within 0\.2 s; the POST \/v1\/slow\/pick may still have/,
      ),
    });
    expect((slow as CliError).message).not.toMatch(/Cannot reach/);

    const closed = await new ApiClient({ ...target, url: 'http://127.0.0.1:9' }, 200)
      .json('POST', '/v1/campaigns')
      .catch((error: CliError) => error);
    expect(closed).toMatchObject({ exitCode: EXIT.server, message: expect.stringMatching(/Cannot reach/) });
  });

  it('maps statuses to the documented exit codes', () => {
    expect([400, 401, 403, 404, 409, 413, 422, 500, 501, 502].map(exitCodeForStatus)).toEqual([
      2, 3, 3, 1, 1, 2, 2, 4, 4, 4,
    ]);
  });
});
