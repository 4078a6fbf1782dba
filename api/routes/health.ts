/** GET /v1/health: answers when the API is up and the caller's credentials are good. */
import { Hono } from 'hono';
import type { ApiEnv, RouteModule } from '../types.ts';

export const healthRoutes: RouteModule = {
  path: '/v1/health',
  router: () =>
    new Hono<ApiEnv>().get('/', (c) => c.json({ ok: true, principal: c.get('principal') ?? null })),
};
