/**
 * GET /v1/jobs/:id   a job the API started (a report, a suppression import): status, progress, result
 *
 * Requests whose work can outlast API Gateway's 29 s answer 202 with a job; clients poll it here until
 * its status is `succeeded` or `failed`.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { JOB_ID, jobView } from '../../core/jobs/jobs.ts';
import { readParam } from '../http.ts';
import type { ApiEnv, RouteModule } from '../types.ts';

const JobIdSchema = z.string().regex(JOB_ID, 'not a job id');

export const jobRoutes: RouteModule = {
  path: '/v1/jobs',
  router: (deps) =>
    new Hono<ApiEnv>().get('/:id', async (c) =>
      c.json(jobView(await deps.app.jobs.get(readParam(c, 'id', JobIdSchema)))),
    ),
};
