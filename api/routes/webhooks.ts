/**
 * POST   /v1/webhooks                 {url, events?, description?, secret?}: a subscriber; the answer is the
 *                                     only time the whole secret is shown
 * GET    /v1/webhooks                 every subscriber (secrets shortened)
 * GET    /v1/webhooks/:id
 * DELETE /v1/webhooks/:id
 * POST   /v1/webhooks/:id/test        sends a signed `webhook.test` event now, once, and answers the attempt
 * GET    /v1/webhooks/:id/log[?limit&cursor]   delivery attempts, newest first
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { NotFoundError } from '../../core/errors.ts';
import { DEFAULT_RETRY, deliverEvent } from '../../core/webhooks/deliver.ts';
import { testEvent } from '../../core/webhooks/events.ts';
import {
  publicSubscription,
  type WebhookStore,
  WebhookSubscriptionInputSchema,
} from '../../core/webhooks/store.ts';
import { checkWebhookUrl } from '../../core/webhooks/url-policy.ts';
import { readBody, readParam, readQuery } from '../http.ts';
import type { ApiDeps, ApiEnv, RouteModule } from '../types.ts';

const WebhookIdSchema = z.string().regex(/^wh_[A-Za-z0-9_-]{1,64}$/, 'a webhook id (wh_...)');
const LogQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

function storeOf(deps: ApiDeps): WebhookStore {
  if (!deps.app.webhooks)
    throw new NotFoundError('Webhooks are not configured on this deployment (no SIXBACK_WEBHOOKS_TABLE).');
  return deps.app.webhooks;
}

export const webhookRoutes: RouteModule = {
  path: '/v1/webhooks',
  router: (deps) =>
    new Hono<ApiEnv>()
      .post('/', async (c) => {
        const input = await readBody(c, WebhookSubscriptionInputSchema, 'webhook');
        await checkWebhookUrl(input.url, deps.app.webhookUrlPolicy);
        return c.json(await storeOf(deps).addSubscription(input), 201);
      })
      .get('/', async (c) => {
        const items = await storeOf(deps).listSubscriptions();
        return c.json({ items: items.map(publicSubscription) });
      })
      .get('/:id', async (c) =>
        c.json(publicSubscription(await storeOf(deps).getSubscription(readParam(c, 'id', WebhookIdSchema)))),
      )
      .delete('/:id', async (c) => {
        const id = readParam(c, 'id', WebhookIdSchema);
        await storeOf(deps).removeSubscription(id);
        return c.json({ id, removed: true });
      })
      .post('/:id/test', async (c) => {
        const store = storeOf(deps);
        const subscription = await store.getSubscription(readParam(c, 'id', WebhookIdSchema));
        // One attempt, inside the API's own time limit: the test shows what the receiver answers now.
        const attempt = await deliverEvent(testEvent(subscription.id, deps.app.clock()), subscription, {
          store,
          fetch: (input, init) => fetch(input, init),
          clock: deps.app.clock,
          sleep: async () => undefined,
          urlPolicy: deps.app.webhookUrlPolicy,
          retry: { ...DEFAULT_RETRY, maxAttempts: 1 },
        });
        return c.json(attempt);
      })
      .get('/:id/log', async (c) => {
        const { limit, cursor } = readQuery(c, LogQuerySchema, 'query');
        const page = await storeOf(deps).log(readParam(c, 'id', WebhookIdSchema), limit, cursor);
        return c.json({ items: page.items, cursor: page.cursor ?? null });
      }),
};
