/**
 * The console against a deployed stack: the local server requires its own bearer token, and forwards
 * /v1 calls to the API signed with SigV4 (checked here by re-signing what the upstream received).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsConsole, startAwsConsole } from '../../cli/aws-console.ts';

const REGION = 'eu-west-1';
const signer = new SignatureV4({
  service: 'execute-api',
  region: REGION,
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  sha256: Sha256,
});

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let upstream: Server;
let upstreamUrl: string;
const received: Received[] = [];
let local: AwsConsole;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, path: req.url }));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/prod`;
  local = await startAwsConsole({ apiUrl: upstreamUrl, region: REGION, signer });
});

afterAll(async () => {
  await local?.close();
  await new Promise((resolve) => upstream?.close(resolve));
});

/** Signs again what the upstream received, at the time it was signed: the signatures must match. */
async function expectValidSignature(request: Received) {
  const headers = request.headers as Record<string, string>;
  const authorization = headers.authorization ?? '';
  const signedNames = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
  const url = new URL(request.url, upstreamUrl);
  const query: Record<string, string> = {};
  url.searchParams.forEach((value, key) => {
    query[key] = value;
  });
  const amzDate = headers['x-amz-date'] as string;
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  const again = await signer.sign(
    {
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query,
      headers: Object.fromEntries(signedNames.map((name) => [name, headers[name] as string])),
      ...(request.body ? { body: request.body } : {}),
    },
    { signingDate },
  );
  expect(authorization).toBe(again.headers.authorization);
}

describe('console against a deployed API', () => {
  it('refuses calls without its bearer token and forwards nothing', async () => {
    const response = await fetch(`${local.url}/v1/health`);
    expect(response.status).toBe(401);
    expect(received).toHaveLength(0);
    expect(local.consoleUrl).toBe(`${local.url}/#token=${local.token}`);
  });

  it('forwards a GET signed with SigV4, under the API stage path, without the local token', async () => {
    const response = await fetch(`${local.url}/v1/campaigns?limit=5`, {
      headers: { authorization: `Bearer ${local.token}`, cookie: 'a=b' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, path: '/prod/v1/campaigns?limit=5' });
    const request = received.at(-1) as Received;
    expect(request.headers.authorization).toMatch(
      new RegExp(`^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\\d{8}/${REGION}/execute-api/aws4_request`),
    );
    expect(request.headers.authorization).not.toContain(local.token);
    expect(request.headers.cookie).toBeUndefined();
    await expectValidSignature(request);
  });

  it('forwards a POST body and its Idempotency-Key, signed, and passes the status back', async () => {
    const body = JSON.stringify({ templateId: 'welcome', from: 'news@example.com' });
    const response = await fetch(`${local.url}/v1/campaigns`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${local.token}`,
        'content-type': 'application/json',
        'idempotency-key': 'abc-123',
      },
      body,
    });
    expect(response.status).toBe(201);
    const request = received.at(-1) as Received;
    expect(request.method).toBe('POST');
    expect(request.body).toBe(body);
    expect(request.headers['idempotency-key']).toBe('abc-123');
    expect(request.headers.authorization).toContain('idempotency-key');
    await expectValidSignature(request);
  });
});
