import { Hono } from 'hono';
import { z } from 'zod';
import { dynamoSuppressionWriter, importSuppressionCsv } from '../../core/compliance/suppression-import.ts';
import { NotFoundError, ValidationError } from '../../core/errors.ts';
import { type JobDeps, jobView, startJob } from '../../core/jobs/jobs.ts';
import { checkAddress } from '../../core/recipients/email-address.ts';
import { parseWith } from '../../core/schemas.ts';
import { readBody, readPage, readQuery } from '../http.ts';
import { cursorSchema } from '../schemas.ts';
import type { ApiEnv, RouteModule } from '../types.ts';

export const SUPPRESSION_REASONS = ['manual', 'unsubscribe', 'bounce', 'complaint'] as const;

const AddressSchema = z.string().transform((raw, ctx) => {
  const check = checkAddress(raw);
  if (!check.ok) {
    ctx.addIssue({ code: 'custom', message: check.reason });
    return z.NEVER;
  }
  return check.address;
});

export const SuppressionAddSchema = z.object({
  email: AddressSchema,
  reason: z.enum(SUPPRESSION_REASONS).default('manual'),
  source: z.string().min(1).max(200).optional(),
});

export const SuppressionListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: cursorSchema(4096),
  search: z.string().max(254).optional(),
});

export const SuppressionImportSchema = z
  .object({
    /** An uploaded object in the bucket (POST /v1/uploads), for files of any size... */
    key: z
      .string()
      .min(1)
      .max(1024)
      .refine((k) => k.startsWith('uploads/'), 'must be an uploaded file (uploads/...)')
      .optional(),
    /** ...or the CSV text itself, for files under the body limit. */
    csv: z.string().min(1).optional(),
    /** The file's name, recorded as the entries' source ("import:<name>"). */
    name: z.string().min(1).max(200).optional(),
    reason: z.enum(SUPPRESSION_REASONS).default('manual'),
  })
  .refine((r) => (r.key === undefined) !== (r.csv === undefined), 'give either key or csv');

const ImportQuerySchema = z.object({
  reason: z.enum(SUPPRESSION_REASONS).default('manual'),
  name: z.string().max(200).optional(),
});

async function* once(text: string) {
  yield text;
}

export const suppressionRoutes: RouteModule = {
  path: '/v1/suppression',
  router: (deps) => {
    const list = deps.app.suppression;
    const { config, clients } = deps.app;
    const writer = dynamoSuppressionWriter(clients.ddb, config.tables.suppression);
    const address = (raw: string) => parseWith(AddressSchema, decodeURIComponent(raw), 'email');
    return new Hono<ApiEnv>()
      .get('/', async (c) => {
        const { limit, cursor, search } = readQuery(c, SuppressionListQuerySchema, 'query');
        const page = await readPage(() => list.list({ limit, cursor, search }));
        return c.json({ items: page.items, cursor: page.cursor ?? null });
      })
      .post('/import', async (c) => {
        const type = c.req.header('content-type') ?? '';
        const at = deps.app.clock();
        if (/^application\/(.+\+)?json\b/i.test(type)) {
          const request = await readBody(c, SuppressionImportSchema, 'import request');
          if (request.csv !== undefined) {
            const result = await importSuppressionCsv(once(request.csv), writer, {
              reason: request.reason,
              source: `import:${request.name ?? 'api'}`,
              at,
            });
            return c.json(result);
          }
          // A file of any size: imported by a job, as it can take longer than the API may answer in.
          const job = await startJob(
            {
              type: 'suppression-import',
              key: request.key as string,
              reason: request.reason,
              ...(request.name ? { name: request.name } : {}),
            },
            deps.jobs as JobDeps,
          );
          c.header('Location', `/v1/jobs/${job.id}`);
          return c.json({ job: jobView(job) }, 202);
        }
        if (!/^text\/(csv|plain)\b/i.test(type)) {
          throw new ValidationError(
            'Send the CSV as the body (Content-Type: text/csv), or JSON {"key": "<uploaded object key>"}.',
            { details: [{ path: '(body)', problem: `content type "${type}"` }] },
          );
        }
        const { reason, name } = readQuery(c, ImportQuerySchema, 'query');
        const result = await importSuppressionCsv(once(await c.req.text()), writer, {
          reason,
          source: `import:${name ?? 'api'}`,
          at,
        });
        return c.json(result);
      })
      .post('/', async (c) => {
        const request = await readBody(c, SuppressionAddSchema, 'suppression entry');
        await list.add(
          request.email,
          request.reason,
          request.source ?? `api:${c.get('principal') ?? 'caller'}`,
        );
        return c.json(await list.get(request.email), 201);
      })
      .get('/:email', async (c) => {
        const email = address(c.req.param('email'));
        const entry = await list.get(email);
        if (!entry)
          throw new NotFoundError(`${email} is not on the suppression list.`, { details: { email } });
        return c.json(entry);
      })
      .delete('/:email', async (c) => {
        const email = address(c.req.param('email'));
        if (!(await list.get(email))) {
          throw new NotFoundError(`${email} is not on the suppression list.`, { details: { email } });
        }
        await list.remove(email);
        return c.body(null, 204);
      });
  },
};
