/** The local API answers like API Gateway when a route outlasts the integration timeout: 503, its body. */
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiServer, startApiServer } from '../../api/node.ts';
import type { ApiDeps, ApiEnv, RouteModule } from '../../api/types.ts';
import { AWS_LIMITS } from '../../core/aws/limits.ts';

let release: () => void = () => undefined;
let finishedLate = false;
const slow: RouteModule = {
  path: '/v1/slow',
  router: () =>
    new Hono<ApiEnv>()
      .get('/', async (c) => {
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        finishedLate = true;
        return c.json({ done: true });
      })
      .get('/quick', (c) => c.json({ done: true })),
};

let server: ApiServer | undefined;
afterEach(async () => {
  release();
  await server?.close();
});

async function get(path: string) {
  const response = await fetch(`${server?.url}${path}`, {
    headers: { authorization: `Bearer ${server?.token}` },
  });
  return { status: response.status, body: await response.json() };
}

describe('the API integration timeout', () => {
  it("defaults to API Gateway's 29 s", () => {
    expect(AWS_LIMITS.apiIntegrationTimeoutMs).toBe(29_000);
  });

  it('answers 503 {"message":"Service Unavailable"} when a route takes longer, and in time otherwise', async () => {
    server = await startApiServer({ deps: {} as ApiDeps, modules: [slow], integrationTimeoutMs: 200 });
    const started = Date.now();
    expect(await get('/v1/slow')).toEqual({ status: 503, body: { message: 'Service Unavailable' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(finishedLate).toBe(false);
    expect(await get('/v1/slow/quick')).toEqual({ status: 200, body: { done: true } });
  });
});
