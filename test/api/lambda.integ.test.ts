/**
 * The same API as a Lambda handler behind API Gateway (HTTP API, payload format 2.0): routes work when
 * API Gateway has authorised the caller with IAM, and fail closed when the context shows no IAM caller.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../handlers/api.ts';
import type { LocalStack } from '../../local/stack.ts';
import { startTestStack } from '../support/local-stack.ts';
import { TEMPLATE } from './support.ts';

const CALLER = 'arn:aws:iam::123456789012:user/alice';

function v2Event(
  method: string,
  path: string,
  options: { body?: unknown; query?: string; iam?: boolean; base64?: boolean } = {},
) {
  const text = options.body === undefined ? undefined : JSON.stringify(options.body);
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: options.query ?? '',
    headers: {
      host: 'abc123.execute-api.eu-west-1.amazonaws.com',
      ...(text ? { 'content-type': 'application/json' } : {}),
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      authentication: null,
      authorizer:
        options.iam === false
          ? {}
          : {
              iam: {
                accessKey: 'AKIAEXAMPLE',
                accountId: '123456789012',
                callerId: 'AIDAEXAMPLE',
                cognitoIdentity: null,
                principalOrgId: null,
                userArn: CALLER,
                userId: 'AIDAEXAMPLE',
              },
            },
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'vitest' },
      requestId: 'req-1',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: '25/Nov/2026:17:00:00 +0000',
      timeEpoch: 1795000000000,
    },
    isBase64Encoded: options.base64 ?? false,
    ...(text ? { body: options.base64 ? Buffer.from(text).toString('base64') : text } : {}),
  };
}

describe('the API on Lambda (API Gateway HTTP API v2 events)', () => {
  let stack: LocalStack;
  let handler: ReturnType<typeof createHandler>;

  beforeAll(async () => {
    stack = await startTestStack();
    handler = createHandler({ app: stack.deps, campaigns: stack.campaignDeps });
  });
  afterAll(() => stack?.stop());

  const invoke = async (event: ReturnType<typeof v2Event>) => {
    const result = (await handler(event as never)) as {
      statusCode: number;
      body: string;
      headers: Record<string, string>;
    };
    return { ...result, json: JSON.parse(result.body) };
  };

  it('trusts the IAM caller API Gateway authorised', async () => {
    const res = await invoke(v2Event('GET', '/v1/health'));
    expect(res.statusCode).toBe(200);
    expect(res.json).toEqual({ ok: true, principal: CALLER });
  });

  it('refuses a request that API Gateway did not authorise with IAM, and does nothing', async () => {
    const res = await invoke(v2Event('PUT', '/v1/templates/unauth', { body: TEMPLATE, iam: false }));
    expect(res.statusCode).toBe(401);
    expect(res.json).toMatchObject({ error: { code: 'unauthorized' } });
    expect(await stack.deps.templates.latest('unauth')).toBeUndefined();
  });

  it('reads JSON bodies, plain or base64-encoded, and query strings', async () => {
    const put = await invoke(v2Event('PUT', '/v1/templates/lambda', { body: TEMPLATE, base64: true }));
    expect(put.statusCode).toBe(201);
    expect(put.json).toMatchObject({ id: 'lambda', version: 1 });
    await invoke(v2Event('PUT', '/v1/templates/lambda', { body: { ...TEMPLATE, subject: 'v2' } }));
    const v1 = await invoke(v2Event('GET', '/v1/templates/lambda', { query: 'version=1' }));
    expect(v1.json).toMatchObject({ version: 1, subject: TEMPLATE.subject });
    expect(v1.headers['content-type']).toMatch(/application\/json/);
  });

  it('answers errors with the same shape and status as the local server', async () => {
    const invalid = await invoke(v2Event('POST', '/v1/campaigns', { body: { templateId: 'x' } }));
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json).toMatchObject({ error: { code: 'validation_failed', details: expect.any(Array) } });
    const missing = await invoke(v2Event('GET', '/v1/campaigns/nope'));
    expect(missing.statusCode).toBe(404);
  });
});
