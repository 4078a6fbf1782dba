/**
 * GET    /v1/templates                  latest version of every template
 * PUT    /v1/templates/:id              save a new version (create or update)
 * GET    /v1/templates/:id[?version=N]  one version, the latest by default
 * GET    /v1/templates/:id/versions     every version, newest first
 * DELETE /v1/templates/:id              every version; refused while an active campaign uses it
 * POST   /v1/templates/:id/preview      render a saved version
 * POST   /v1/templates/preview          render unsaved content (an editor's live preview)
 *
 * `{% render 'footer' %}` in a template renders the stored template `footer` (core/templates/partials.ts);
 * saves and previews load its partials from the store first. No route ever reads a file for a template.
 */
import { Hono } from 'hono';
import { isFinal } from '../../core/campaigns/status.ts';
import { ConflictError } from '../../core/errors.ts';
import { firstRecipientRow } from '../../core/recipients/uploads.ts';
import { TemplateInputSchema } from '../../core/schemas.ts';
import { renderPreview } from '../../core/templates/preview.ts';
import { readBody, readParam, readQuery } from '../http.ts';
import { DraftPreviewRequestSchema, IdSchema, PreviewRequestSchema, VersionQuerySchema } from '../schemas.ts';
import type { ApiDeps, ApiEnv, RouteModule } from '../types.ts';
import { uploadDeps } from './uploads.ts';

/** Campaigns that will still render this template: deleting it would fail them. */
async function activeCampaignsUsing(templateId: string, deps: ApiDeps): Promise<string[]> {
  const using: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.app.campaigns.list(100, cursor);
    for (const campaign of page.items) {
      if (campaign.spec.templateId === templateId && !isFinal(campaign.status)) using.push(campaign.id);
    }
    cursor = page.cursor;
  } while (cursor);
  return using;
}

export const templateRoutes: RouteModule = {
  path: '/v1/templates',
  router: (deps) => {
    const store = deps.app.templates;
    const rowOf = async (recipientsKey: string | undefined) =>
      recipientsKey ? firstRecipientRow(recipientsKey, uploadDeps(deps)) : undefined;
    return new Hono<ApiEnv>()
      .get('/', async (c) => c.json({ items: await store.list() }))
      .post('/preview', async (c) => {
        const request = await readBody(c, DraftPreviewRequestSchema, 'preview request');
        const row = await rowOf(request.recipientsKey);
        const partials = await store.partials(request.template);
        return c.json(renderPreview(request.template, { row, given: request.variables }, { partials }));
      })
      .put('/:id', async (c) => {
        const id = readParam(c, 'id', IdSchema);
        const input = await readBody(c, TemplateInputSchema, 'template');
        return c.json(await store.save(id, input), 201);
      })
      .get('/:id', async (c) => {
        const id = readParam(c, 'id', IdSchema);
        const { version } = readQuery(c, VersionQuerySchema, 'query');
        return c.json(await store.get(id, version));
      })
      .get('/:id/versions', async (c) => {
        const id = readParam(c, 'id', IdSchema);
        return c.json({ items: await store.versions(id) });
      })
      .delete('/:id', async (c) => {
        const id = readParam(c, 'id', IdSchema);
        await store.get(id);
        const using = await activeCampaignsUsing(id, deps);
        if (using.length > 0) {
          throw new ConflictError(
            `Template "${id}" is used by ${using.length} campaign(s) not yet finished (${using.slice(0, 5).join(', ')}). Cancel them or wait until they finish.`,
            { details: { templateId: id, campaigns: using } },
          );
        }
        return c.json({ id, deletedVersions: await store.delete(id) });
      })
      .post('/:id/preview', async (c) => {
        const id = readParam(c, 'id', IdSchema);
        const request = await readBody(c, PreviewRequestSchema, 'preview request');
        const template = await store.get(id, request.version);
        const row = await rowOf(request.recipientsKey);
        const partials = await store.partials(template, { selfId: template.id });
        return c.json({
          template: { id: template.id, version: template.version },
          ...renderPreview(template, { row, given: request.variables }, { partials }),
        });
      });
  },
};
