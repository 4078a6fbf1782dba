/**
 * GET  /u/:token   a confirmation page with one button; never unsubscribes by itself (link scanners
 *                  and previewers follow GET links)
 * POST /u/:token   RFC 8058 one-click: the mail client POSTs "List-Unsubscribe=One-Click"; the form on
 *                  the page POSTs the same. Unsubscribes at once.
 *
 * Public: recipients have no credentials. The signed token is the authority; a forged or altered one is
 * refused with 400.
 */
import type { Context } from 'hono';
import { Hono } from 'hono';
import {
  confirmationPage,
  invalidLinkPage,
  UNSUBSCRIBE_PATH,
  unsubscribe,
  unsubscribedPage,
} from '../../core/compliance/unsubscribe.ts';
import { InvalidUnsubscribeTokenError } from '../../core/errors.ts';
import type { ApiEnv, RouteModule } from '../types.ts';

const PAGE_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Robots-Tag': 'noindex',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
};

function refused(c: Context<ApiEnv>, error: unknown) {
  if (error instanceof InvalidUnsubscribeTokenError) {
    return c.html(invalidLinkPage(error.message), 400, PAGE_HEADERS);
  }
  throw error;
}

export const unsubscribeRoutes: RouteModule = {
  path: UNSUBSCRIBE_PATH.replace(/\/$/, ''),
  public: true,
  router: (deps) => {
    const unsubscribeDeps = {
      links: deps.app.unsubscribeLinks,
      suppression: deps.app.suppression,
      campaigns: deps.app.campaigns,
      analytics: deps.app.analytics,
      publish: (events: Parameters<typeof deps.app.publisher.publish>[0]) =>
        deps.app.publisher.publish(events),
      clock: deps.app.clock,
      logger: deps.app.logger,
    };
    return new Hono<ApiEnv>()
      .get('/:token', async (c) => {
        const token = c.req.param('token');
        try {
          const subject = await deps.app.unsubscribeLinks.verify(token);
          // Relative, so the form posts back to this same URL whatever prefix a proxy or stage adds.
          return c.html(confirmationPage(subject.key, `./${token}`), 200, PAGE_HEADERS);
        } catch (error) {
          return refused(c, error);
        }
      })
      .post('/:token', async (c) => {
        // The body (List-Unsubscribe=One-Click) is not required: the signed token alone decides, so mail
        // clients that send multipart or nothing still work.
        try {
          const done = await unsubscribe(c.req.param('token'), unsubscribeDeps);
          return c.html(unsubscribedPage(done.key), 200, PAGE_HEADERS);
        } catch (error) {
          return refused(c, error);
        }
      });
  },
};
