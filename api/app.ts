/**
 * The one HTTP API, served by the local server (api/node.ts) and by Lambda behind API Gateway
 * (handlers/api.ts). It is built from a list of route modules: adding a feature's routes is one line in
 * ROUTE_MODULES. Errors all leave through `toHttpError`, the one mapping from error to status.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { PayloadTooLargeError, toHttpError } from '../core/errors.ts';
import { createJobDeps } from '../core/jobs/jobs.ts';
import { authenticate } from './auth.ts';
import { MAX_BODY_BYTES } from './http.ts';
import { campaignRoutes } from './routes/campaigns.ts';
import { localEventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { jobRoutes } from './routes/jobs.ts';
import { suppressionRoutes } from './routes/suppression.ts';
import { templateRoutes } from './routes/templates.ts';
import { unsubscribeRoutes } from './routes/unsubscribe.ts';
import { uploadRoutes } from './routes/uploads.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import type { ApiAuth, ApiDeps, ApiEnv, RouteModule } from './types.ts';

/** Every route module of the API. Public modules (no authentication) must say so themselves. */
export const ROUTE_MODULES: RouteModule[] = [
  healthRoutes,
  uploadRoutes,
  templateRoutes,
  campaignRoutes,
  suppressionRoutes,
  jobRoutes,
  localEventRoutes,
  webhookRoutes,
  unsubscribeRoutes,
];

export interface ApiOptions {
  deps: ApiDeps;
  auth: ApiAuth;
  /** Replaces ROUTE_MODULES (tests) ... */
  modules?: RouteModule[];
  /** ... or adds to them. */
  extraModules?: RouteModule[];
  /** Called before the routes are mounted: the local server mounts the web console's static files here. */
  beforeRoutes?: (app: Hono<ApiEnv>) => void;
  /** Paths outside the modules that need no authentication (the web console's static files). */
  isPublicPath?: (path: string) => boolean;
  log?: (message: string, error: unknown) => void;
}

const underPrefix = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

export function createApi(options: ApiOptions): Hono<ApiEnv> {
  const modules = [...(options.modules ?? ROUTE_MODULES), ...(options.extraModules ?? [])];
  const publicPrefixes = modules.filter((m) => m.public).map((m) => m.path);
  const modulePrefixes = modules.map((m) => m.path);
  // Extra public paths (the console's files) never cover a module's routes: those are public only if the
  // module says so.
  const isPublic = (path: string) =>
    publicPrefixes.some((prefix) => underPrefix(path, prefix)) ||
    ((options.isPublicPath?.(path) ?? false) && !modulePrefixes.some((prefix) => underPrefix(path, prefix)));
  // The app's logger (core/logging.ts) when there is one: its lines hash recipients' addresses.
  const logger = options.deps.app?.logger;
  const log =
    options.log ??
    (logger
      ? (message: string, error: unknown) => logger.error(message, { error })
      : (message: string, error: unknown) => console.error(message, error));

  const app = new Hono<ApiEnv>();
  app.onError((error, c) => {
    const { status, body } = toHttpError(error);
    if (status >= 500 && status !== 501) log(`${c.req.method} ${c.req.path} failed:`, error);
    return c.json(body, status as ContentfulStatusCode);
  });
  app.notFound((c) =>
    c.json(
      { error: { code: 'not_found', message: `No route ${c.req.method} ${c.req.path}. See docs/api.md.` } },
      404,
    ),
  );
  // Authentication first: an unauthenticated request is refused before anything is read or done.
  app.use('*', authenticate(options.auth, isPublic));
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => {
        const { body } = toHttpError(
          new PayloadTooLargeError(`The request body is over ${MAX_BODY_BYTES} bytes.`),
        );
        // The rest of the body is left unread: the connection cannot carry another request.
        return c.json(body, 413, { Connection: 'close' });
      },
    }),
  );
  options.beforeRoutes?.(app);
  // One job runner for every module, so work started by one route is the work another reports on.
  const deps = options.deps.jobs
    ? options.deps
    : {
        ...options.deps,
        ...(options.deps.app && options.deps.campaigns
          ? { jobs: createJobDeps(options.deps.app, options.deps.campaigns, undefined, log) }
          : {}),
      };
  for (const module of modules) app.route(module.path, module.router(deps));
  return app;
}
