/**
 * POST /v1/uploads         a presigned POST for a recipients CSV or an image (the server picks the key)
 * POST /v1/uploads/check   every check a campaign will make on an uploaded CSV, before anything starts
 */
import { Hono } from 'hono';
import { checkRecipientsUpload, presignUpload, type UploadDeps } from '../../core/recipients/uploads.ts';
import { readBody } from '../http.ts';
import { UploadCheckSchema, UploadRequestSchema } from '../schemas.ts';
import type { ApiDeps, ApiEnv, RouteModule } from '../types.ts';

export const uploadDeps = (deps: ApiDeps): UploadDeps => ({
  s3: deps.app.clients.s3,
  bucket: deps.app.config.bucket,
  clock: deps.app.clock,
  imagesBaseUrl: deps.app.config.imagesBaseUrl,
  keySecret: () => deps.app.unsubscribeLinks.signingSecret(),
});

export const uploadRoutes: RouteModule = {
  path: '/v1/uploads',
  router: (deps) =>
    new Hono<ApiEnv>()
      .post('/', async (c) => {
        const request = await readBody(c, UploadRequestSchema, 'upload request');
        return c.json(await presignUpload(request, uploadDeps(deps)), 201);
      })
      .post('/check', async (c) => {
        const { key, emailColumn, shortRows } = await readBody(c, UploadCheckSchema, 'upload check');
        return c.json(await checkRecipientsUpload(key, uploadDeps(deps), { emailColumn, shortRows }));
      }),
};
