/**
 * POST /v1/campaigns                     create and start now, or schedule (Idempotency-Key honoured)
 * GET  /v1/campaigns[?limit&cursor]      newest first, a page at a time
 * GET  /v1/campaigns/:id                 one campaign with live progress
 * POST /v1/campaigns/:id/cancel          202: cancelled at once; the report is written by a job
 * POST /v1/campaigns/:id/resume
 * POST /v1/campaigns/:id/resend-failed
 * GET  /v1/campaigns/:id/ab-test         the A/B test: settings, phase, live counts, decision
 * POST /v1/campaigns/:id/pick            {"variant": "B"}: pick the A/B test's winner by hand (ends the wait)
 * GET  /v1/campaigns/:id/report[?format=url|csv]   the per-recipient report, with SES outcomes; 202
 *                                        with a job while a stopped campaign's report is still being written
 * GET  /v1/campaigns/:id/stats           delivered, bounced, complained, opened, clicked...: counts,
 *                                        rates, per link, over time
 * GET  /v1/campaigns/:id/recipients/:email   one recipient's outcome and timeline
 * POST /v1/campaigns/:id/test            the campaign's email to a few addresses, outside the campaign
 * POST /v1/campaigns/test                the same for a campaign not created yet
 * POST /v1/campaigns/:id/unsubscribe-link {email}: the signed link that recipient's email carries
 */
import { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Hono } from 'hono';
import { z } from 'zod';
import { resendFailedCampaign, resumeCampaign } from '../../core/campaigns/runs.ts';
import { resolveSendAt } from '../../core/campaigns/schedule.ts';
import { createOrReplayCampaign, stopCampaign } from '../../core/campaigns/service.ts';
import { isFinal } from '../../core/campaigns/status.ts';
import type { CampaignRecord } from '../../core/campaigns/store.ts';
import { abTestView, campaignView } from '../../core/campaigns/view.ts';
import { reportWithOutcomes, writeReportWithOutcomes } from '../../core/compliance/report-outcomes.ts';
import {
  CampaignStatsSchema,
  getCampaignStats,
  getRecipientOutcome,
  RecipientOutcomeSchema,
} from '../../core/compliance/stats.ts';
import {
  ConfigError,
  ConflictError,
  IllegalTransitionError,
  NotFoundError,
  ValidationError,
} from '../../core/errors.ts';
import { type JobDeps, jobView, reportJobId, startJob } from '../../core/jobs/jobs.ts';
import { addressKey } from '../../core/recipients/email-address.ts';
import { assertUploaded, firstRecipientRow } from '../../core/recipients/uploads.ts';
import { ManualPickSchema } from '../../core/schemas.ts';
import { sendTestEmails } from '../../core/templates/preview.ts';
import { abTestStanding, pickVariant } from '../../core/workflow/ab-test.ts';
import { readBody, readPage, readParam, readQuery } from '../http.ts';
import {
  CampaignCreateSchema,
  DraftTestSendSchema,
  IdSchema,
  ListQuerySchema,
  ReportQuerySchema,
  TestSendSchema,
  UnsubscribeLinkRequestSchema,
} from '../schemas.ts';
import type { ApiEnv, RouteModule } from '../types.ts';
import { uploadDeps } from './uploads.ts';

const RecipientParamSchema = z.string().min(3).max(254);

const REPORT_URL_SECONDS = 15 * 60;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export const campaignRoutes: RouteModule = {
  path: '/v1/campaigns',
  router: (deps) => {
    const store = deps.app.campaigns;
    const jobs = deps.jobs as JobDeps;
    if (!jobs) throw new ConfigError('The campaign routes need a job runner (ApiDeps.jobs).');
    /** The report of a stopped campaign's run, as a job: a cancel and a GET /report share it. */
    const reportJob = (record: CampaignRecord, afterStop: boolean) =>
      startJob(
        { type: 'report', campaignId: record.id, run: record.executions ?? 1, afterStop },
        jobs,
        reportJobId(record.id, record.executions ?? 1),
      );
    const analyticsDeps = {
      campaigns: store,
      analytics: deps.app.analytics,
      ledger: deps.app.ledger,
      clock: deps.app.clock,
    };
    const view = (record: CampaignRecord) =>
      campaignView(record, {
        now: deps.app.clock(),
        consoleUrl: (arn) => deps.campaigns.orchestrator.consoleUrl(arn),
      });

    return new Hono<ApiEnv>()
      .post('/', async (c) => {
        const body = await readBody(c, CampaignCreateSchema, 'campaign');
        const idempotencyKey = c.req.header('idempotency-key');
        if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
          throw new ValidationError('The Idempotency-Key header must be 1-255 visible ASCII characters.', {
            details: [{ path: 'Idempotency-Key', problem: 'invalid' }],
          });
        }
        const request = {
          ...body,
          ...(body.sendAt ? { sendAt: resolveSendAt(body.sendAt, body.timeZone).toISOString() } : {}),
        };
        // A retry gets the same campaign (200, Idempotent-Replayed); the same key for another request
        // is a client bug (409); core decides both, also when the requests arrive concurrently.
        const { campaign, replayed } = await createOrReplayCampaign(request, deps.campaigns, {
          idempotencyKey,
          // The POST policy's size and type limits are not enforced by every S3 (s3rver): check the object.
          beforeCreate: async () => {
            await assertUploaded(request.recipientsKey, 'recipients', uploadDeps(deps));
          },
        });
        if (replayed) {
          c.header('Idempotent-Replayed', 'true');
          return c.json(view(campaign), 200);
        }
        return c.json(view(campaign), 201);
      })
      .get('/', async (c) => {
        const { limit, cursor } = readQuery(c, ListQuerySchema, 'query');
        const page = await readPage(() => store.list(limit, cursor));
        return c.json({ items: page.items.map(view), cursor: page.cursor ?? null });
      })
      .post('/test', async (c) => {
        const request = await readBody(c, DraftTestSendSchema, 'test send');
        const template = await deps.app.templates.get(request.templateId, request.templateVersion);
        const partials = await deps.app.templates.partials(template, { selfId: template.id });
        const row = request.recipientsKey
          ? await firstRecipientRow(request.recipientsKey, uploadDeps(deps), {
              emailColumn: request.emailColumn,
            })
          : undefined;
        return c.json(
          await sendTestEmails(
            {
              template,
              partials,
              from: request.from,
              replyTo: request.replyTo,
              to: request.to,
              data: request.data,
              row,
              variables: request.variables,
              configurationSet: deps.app.config.configurationSet,
            },
            deps.app.emails,
          ),
        );
      })
      .get('/:id', async (c) => c.json(view(await store.get(readParam(c, 'id', IdSchema)))))
      .post('/:id/cancel', async (c) => {
        const id = readParam(c, 'id', IdSchema);
        // Stopping is quick; the report reads every row (minutes for a million), so a job writes it.
        const cancelled = await stopCampaign(id, deps.campaigns);
        const job = await reportJob(cancelled, true);
        c.header('Location', `/v1/jobs/${job.id}`);
        return c.json({ ...view(cancelled), job: jobView(job) }, 202);
      })
      .post('/:id/resume', async (c) => {
        const id = readParam(c, 'id', IdSchema);
        return c.json(view(await resumeCampaign(id, deps.campaigns)));
      })
      .get('/:id/ab-test', async (c) => {
        const campaign = await store.get(readParam(c, 'id', IdSchema));
        const test = abTestView(campaign);
        if (!test) throw new NotFoundError(`Campaign ${campaign.id} has no A/B test.`);
        return c.json({ ...test, live: await abTestStanding(campaign, deps.app.engagement) });
      })
      .post('/:id/pick', async (c) => {
        const id = readParam(c, 'id', IdSchema);
        return c.json(view(await pickVariant(id, await readBody(c, ManualPickSchema, 'pick'), deps.app)));
      })
      .post('/:id/resend-failed', async (c) => {
        const id = readParam(c, 'id', IdSchema);
        return c.json(view(await resendFailedCampaign(id, deps.campaigns)));
      })
      .get('/:id/report', async (c) => {
        const id = readParam(c, 'id', IdSchema);
        const { format } = readQuery(c, ReportQuerySchema, 'query');
        // Written by the finaliser; for a campaign stopped before it, built by a job from the ledger (202
        // until it is written). An unfinished campaign has none yet (409).
        let campaign = await store.get(id);
        if (!campaign.reportKey) {
          if (!isFinal(campaign.status)) {
            throw new IllegalTransitionError(
              `Campaign ${id} is ${campaign.status}: its report is written when it ends.`,
              { details: { campaignId: id, status: campaign.status } },
            );
          }
          const job = await reportJob(campaign, false);
          if (job.status !== 'succeeded') {
            c.header('Location', `/v1/jobs/${job.id}`);
            c.header('Retry-After', '2');
            return c.json({ campaignId: id, job: jobView(job) }, 202);
          }
          campaign = await store.get(id);
          if (!campaign.reportKey)
            throw new ConflictError(`Campaign ${id} has no report: a newer run of it has started.`);
        }
        const base = await deps.app.clients.s3.send(
          new GetObjectCommand({ Bucket: deps.app.config.bucket, Key: campaign.reportKey as string }),
        );
        // Outcomes keep arriving after the campaign finished: they are joined in now, not at the finish.
        // A campaign that sent nothing has none: its report is the finaliser's as it is.
        const sentAny = (campaign.totals?.sent ?? campaign.progress?.sent ?? 0) > 0;
        if (!sentAny) {
          const command = new GetObjectCommand({
            Bucket: deps.app.config.bucket,
            Key: campaign.reportKey as string,
            ResponseContentDisposition: `attachment; filename="${id}-report.csv"`,
            ResponseContentType: 'text/csv; charset=utf-8',
          });
          if (format === 'url') {
            (base.Body as Readable).destroy();
            const url = await getSignedUrl(deps.app.clients.s3, command, { expiresIn: REPORT_URL_SECONDS });
            const expiresAt = new Date(deps.app.clock().getTime() + REPORT_URL_SECONDS * 1000).toISOString();
            return c.json({ campaignId: id, url, expiresAt });
          }
          const body = Readable.toWeb(base.Body as Readable) as ReadableStream<Uint8Array>;
          return c.body(body, 200, {
            'Content-Type': 'text/csv; charset=utf-8',
            'Content-Disposition': `attachment; filename="${id}-report.csv"`,
          });
        }
        if (format === 'url') {
          const key = await writeReportWithOutcomes(id, base.Body as Readable, {
            s3: deps.app.clients.s3,
            bucket: deps.app.config.bucket,
            analytics: deps.app.analytics,
          });
          const command = new GetObjectCommand({
            Bucket: deps.app.config.bucket,
            Key: key,
            ResponseContentDisposition: `attachment; filename="${id}-report.csv"`,
            ResponseContentType: 'text/csv; charset=utf-8',
          });
          const url = await getSignedUrl(deps.app.clients.s3, command, { expiresIn: REPORT_URL_SECONDS });
          const expiresAt = new Date(deps.app.clock().getTime() + REPORT_URL_SECONDS * 1000).toISOString();
          return c.json({ campaignId: id, url, expiresAt });
        }
        const joined = Readable.from(reportWithOutcomes(base.Body as Readable, id, deps.app.analytics));
        const body = Readable.toWeb(joined) as ReadableStream<Uint8Array>;
        return c.body(body, 200, {
          'Content-Type': 'text/csv; charset=utf-8',
          'Content-Disposition': `attachment; filename="${id}-report.csv"`,
        });
      })
      .get('/:id/stats', async (c) => {
        const id = readParam(c, 'id', IdSchema);
        const stats = await getCampaignStats(id, analyticsDeps);
        return c.json(CampaignStatsSchema.parse(stats));
      })
      .get('/:id/recipients/:email', async (c) => {
        const id = readParam(c, 'id', IdSchema);
        const email = readParam(c, 'email', RecipientParamSchema);
        return c.json(RecipientOutcomeSchema.parse(await getRecipientOutcome(id, email, analyticsDeps)));
      })
      .post('/:id/unsubscribe-link', async (c) => {
        // The same link the sender put in this recipient's email: callers who can already suppress any
        // address learn nothing new, and `sixback smoke` can prove the public route without a mailbox.
        const id = readParam(c, 'id', IdSchema);
        const { email: address } = await readBody(c, UnsubscribeLinkRequestSchema, 'unsubscribe link');
        await store.get(id);
        await deps.app.unsubscribeLinks.ready();
        return c.json({
          campaignId: id,
          email: address,
          url: deps.app.unsubscribeLinks.url({ campaignId: id, key: addressKey(address) }),
        });
      })
      .post('/:id/test', async (c) => {
        const id = readParam(c, 'id', IdSchema);
        const request = await readBody(c, TestSendSchema, 'test send');
        const campaign = await store.get(id);
        const template = await deps.app.templates.get(campaign.spec.templateId, campaign.templateVersion);
        // The versions the campaign pinned: a test shows what the campaign will send.
        const partials = await deps.app.templates.partials(template, {
          selfId: template.id,
          pins: campaign.partials,
        });
        const row =
          request.variables === undefined
            ? await firstRecipientRow(campaign.spec.recipientsKey, uploadDeps(deps), {
                emailColumn: campaign.spec.emailColumn,
              })
            : undefined;
        return c.json(
          await sendTestEmails(
            {
              template,
              partials,
              from: campaign.spec.from,
              replyTo: campaign.spec.replyTo,
              to: request.to,
              data: campaign.spec.data,
              row,
              variables: request.variables,
              campaignId: id,
              configurationSet: deps.app.config.configurationSet,
            },
            deps.app.emails,
          ),
        );
      });
  },
};
