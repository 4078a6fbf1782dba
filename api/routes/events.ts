/**
 * POST /v1/local/ses-events   {type, email, campaignId}: makes the SES event SES would publish and runs
 *                             it through the same handler code as the deployed events Lambda.
 *
 * Local stack only: its SES produces no bounces or complaints, so this is how they are tried out. On a
 * deployed stack (no local SES endpoint) the route answers 404.
 */
import { Hono } from 'hono';
import { sesEventDeps } from '../../core/app.ts';
import { buildSesEvent, InjectEventSchema, recordSesEvent } from '../../core/compliance/events.ts';
import { NotFoundError } from '../../core/errors.ts';
import { readBody } from '../http.ts';
import type { ApiEnv, RouteModule } from '../types.ts';

export const localEventRoutes: RouteModule = {
  path: '/v1/local/ses-events',
  router: (deps) =>
    new Hono<ApiEnv>().post('/', async (c) => {
      if (!deps.app.config.endpoints.ses) {
        throw new NotFoundError(
          'Injecting SES events is only possible on the local stack; deployed stacks get real ones.',
        );
      }
      const request = await readBody(c, InjectEventSchema, 'event to inject');
      const event = buildSesEvent(request, deps.app.clock());
      // No metric lines: there is no CloudWatch to read them locally.
      const result = await recordSesEvent(event, sesEventDeps(deps.app));
      return c.json(
        {
          event,
          counted: result.counter ?? null,
          suppressed: result.suppressed,
          health: result.health ?? null,
          alarmsRaised: result.raised,
        },
        201,
      );
    }),
};
