/** What every route module receives, and how modules plug into the app. */
import type { Hono } from 'hono';
import type { AppDeps } from '../core/app.ts';
import type { CampaignServiceDeps } from '../core/campaigns/deps.ts';
import type { JobDeps } from '../core/jobs/jobs.ts';

export interface ApiDeps {
  app: AppDeps;
  campaigns: CampaignServiceDeps;
  /** Where long work runs (core/jobs/jobs.ts); default: the background of this process. */
  jobs?: JobDeps;
}

/**
 * How callers prove who they are:
 * - `bearer`: a shared token (the local server; `sixback dev` prints it);
 * - `aws-iam`: API Gateway has already checked a SigV4 signature (IAM authorisation) before invoking the
 *   Lambda; the app only verifies that API Gateway says so in the event's request context.
 */
export type ApiAuth = { kind: 'bearer'; token: string } | { kind: 'aws-iam' };

/** The request context API Gateway passes (HTTP API v2 or REST API v1), when running on Lambda. */
export interface LambdaRequestContext {
  authorizer?: { iam?: { userArn?: string; callerId?: string } | null } | null;
  identity?: { userArn?: string | null; caller?: string | null } | null;
}

export type ApiEnv = {
  Bindings: { event?: { requestContext?: LambdaRequestContext } };
  Variables: { principal: string };
};

export interface RouteModule {
  /** Where the router is mounted, e.g. "/v1/templates". */
  path: string;
  /**
   * Public routes skip authentication. Only the unsubscribe endpoint should be public: recipients'
   * mail clients call it with no credentials (it proves itself with a signed token instead).
   */
  public?: boolean;
  router(deps: ApiDeps): Hono<ApiEnv>;
}
