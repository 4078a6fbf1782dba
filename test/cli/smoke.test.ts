/**
 * `sixback smoke`'s verdicts on stacks that are broken in one way each, with a fake API and a fake clock:
 * each failing row names what to fix, and waiting stops at the timeout.
 */
import { describe, expect, it } from 'vitest';
import type { ApiClient } from '../../cli/client.ts';
import { CliError, EXIT } from '../../cli/exit.ts';
import { runSmoke } from '../../cli/smoke.ts';

interface Broken {
  /** SES events never come back. */
  noEvents?: boolean;
  /** Events are counted but nothing is suppressed. */
  noSuppression?: boolean;
  /** A GET of the unsubscribe link unsubscribes. */
  getUnsubscribes?: boolean;
}

function fakeStack(broken: Broken) {
  let clock = 0;
  const suppressed = new Map<string, { email: string; reason: string }>();
  const events = { delivery: 0, bounce: 0, complaint: 0, unsubscribe: 0 };
  let recipients: string[] = [];
  const view = () => ({
    id: 'c1',
    status: 'completed',
    statusReason: null,
    progress: { counts: { sent: 4 } },
    deliverability: { events: { ...events } },
  });
  const json = async (method: string, path: string, options: { body?: unknown } = {}) => {
    if (path === '/v1/health' || path.startsWith('/v1/templates/')) return { ok: true };
    if (path === '/v1/uploads') return { url: 'http://s3.invalid/', fields: {}, key: 'uploads/x.csv' };
    if (method === 'POST' && path === '/v1/campaigns') {
      if (!broken.noEvents) {
        events.delivery = 2;
        events.bounce = 2;
        events.complaint = 1;
        if (!broken.noSuppression)
          for (const r of recipients.filter((r) => /^(bounce|complaint|suppressionlist)\+/.test(r)))
            suppressed.set(r, { email: r, reason: r.startsWith('complaint') ? 'complaint' : 'bounce' });
      }
      return view();
    }
    if (path === '/v1/campaigns/c1') return view();
    if (path.endsWith('/unsubscribe-link'))
      return { url: `http://api.invalid/u/${(options.body as { email: string }).email}` };
    if (path.startsWith('/v1/suppression/')) {
      const entry = suppressed.get(decodeURIComponent(path.slice('/v1/suppression/'.length)));
      if (!entry) throw new CliError('not suppressed', EXIT.failed, undefined, 'not_found');
      return entry;
    }
    throw new Error(`unexpected ${method} ${path}`);
  };
  const client = {
    target: { url: 'http://api.invalid', auth: 'bearer', token: 't', source: 'test' },
    json,
    fetch: async (method: string, path: string) => {
      if (method === 'DELETE') suppressed.delete(decodeURIComponent(path.slice('/v1/suppression/'.length)));
      return new Response(null, { status: 204 });
    },
  } as unknown as ApiClient;
  const publicFetch = (async (input: string | URL, init?: RequestInit) => {
    const email = decodeURIComponent(String(input).split('/u/')[1] ?? '');
    if (init?.method === 'POST' || broken.getUnsubscribes)
      suppressed.set(email, { email, reason: 'unsubscribe' });
    return new Response('ok', { status: 200 });
  }) as typeof fetch;
  // The CSV upload goes to S3 with the global fetch: record the addresses the smoke test mails.
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (_url: string, init: RequestInit) => {
    const file = (init.body as FormData).get('file') as Blob;
    recipients = (await file.text()).trim().split('\n').slice(1);
    return new Response(null, { status: 204 });
  }) as typeof fetch;
  return {
    suppressed,
    run: (timeoutSeconds = 30) =>
      runSmoke(
        { from: 'smoke@example.com', timeoutSeconds },
        {
          client,
          now: () => clock,
          sleep: async (ms) => {
            clock += ms;
          },
          fetch: publicFetch,
        },
      ).finally(() => {
        globalThis.fetch = realFetch;
      }),
  };
}

const failing = (result: Awaited<ReturnType<ReturnType<typeof fakeStack>['run']>>) =>
  result.checks.filter((c) => !c.ok);

describe('sixback smoke verdicts', () => {
  it('passes on a working stack and takes the simulator addresses off the suppression list', async () => {
    const stack = fakeStack({});
    const result = await stack.run();
    expect(failing(result)).toEqual([]);
    expect(result.ok).toBe(true);
    expect(stack.suppressed.size).toBe(0);
  });

  it('waits until the timeout for events that never come, then names the event path to fix', async () => {
    const result = await fakeStack({ noEvents: true }).run(45);
    expect(result.ok).toBe(false);
    expect(result.seconds).toBeGreaterThanOrEqual(45);
    expect(result.seconds).toBeLessThan(48);
    const names = failing(result).map((c) => c.name);
    expect(names).toEqual([
      'success@: delivered',
      'bounce@: bounced and suppressed',
      'complaint@: complained and suppressed',
      'suppressionlist@: bounced and suppressed',
    ]);
    for (const check of failing(result)) expect(check.fix).toMatch(/EventBridge event destination/);
  });

  it('tells counted-but-not-suppressed apart from events that never arrived', async () => {
    const result = await fakeStack({ noSuppression: true }).run(10);
    expect(failing(result).map((c) => c.name)).toEqual([
      'bounce@: bounced and suppressed',
      'complaint@: complained and suppressed',
      'suppressionlist@: bounced and suppressed',
    ]);
    for (const check of failing(result)) expect(check.fix).toMatch(/not suppressed.*suppression table/);
  });

  it('fails the GET row when a GET of the unsubscribe link unsubscribes (RFC 8058)', async () => {
    const result = await fakeStack({ getUnsubscribes: true }).run();
    expect(failing(result).map((c) => c.name)).toEqual(['unsubscribe link: GET does not unsubscribe']);
    expect(failing(result)[0]?.fix).toMatch(/confirmation page/);
  });
});
