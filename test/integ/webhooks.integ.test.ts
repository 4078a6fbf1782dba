/**
 * Webhooks on the local stack: a receiver on 127.0.0.1 subscribed through the API gets signed POSTs of a
 * campaign's status changes and of its recipients' events (the local SES's Delivery, Bounce and Complaint
 * for the mailbox simulator), the test button answers what the receiver said, and the delivery log holds
 * one line per attempt, failed ones included. A one-click unsubscribe whose publish failed is published
 * once, by the next POST of the link.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EventPublishError } from '../../core/errors.ts';
import type { LocalWebhookPublisher } from '../../core/webhooks/publish.ts';
import { verifySignature } from '../../core/webhooks/signature.ts';
import { type ApiTest, startApiTest } from '../api/support.ts';
import { runCampaign, saveTemplate, uploadCsv } from '../support/local-stack.ts';
import { waitFor } from '../support/wait.ts';

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
  event: { id: string; type: string; data: Record<string, unknown> };
}

describe('webhooks on the local stack', () => {
  let t: ApiTest;
  let receiver: Server;
  let receiverUrl: string;
  const received: Received[] = [];
  /** Statuses the receiver answers, in turn; 200 once they run out. */
  const answers: number[] = [];
  /** The hook template to these recipients, completed, with the local SES's events all published. */
  const sendHook = async (file: string, csv: string) => {
    const recipientsKey = await uploadCsv(t.stack, file, csv);
    const { campaign } = await runCampaign(t.stack, {
      templateId: 'hook',
      recipientsKey,
      from: 'news@sixback.example',
    });
    expect(campaign.status).toBe('completed');
    await t.stack.ses?.events.idle();
    return campaign;
  };

  beforeAll(async () => {
    t = await startApiTest();
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        received.push({ headers: req.headers, body, event: JSON.parse(body) });
        res.statusCode = answers.shift() ?? 200;
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    await saveTemplate(t.stack, 'hook', {
      subject: 'Hi',
      html: '<p>Hi</p><a href="{{ unsubscribe_url }}">unsubscribe</a>',
    });
  });
  afterAll(async () => {
    await t?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('refuses URLs that are not http(s)', async () => {
    const refused = await t.call('POST', '/v1/webhooks', { url: 'file:///etc/passwd' });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ error: { code: 'webhook_url_refused' } });
  });

  it('delivers signed status changes and recipient events of a local campaign, and logs each attempt', async () => {
    const added = await t.call('POST', '/v1/webhooks', {
      url: receiverUrl,
      events: ['campaign.status_changed', 'recipient.delivered', 'recipient.bounced', 'recipient.complained'],
    });
    expect(added.status).toBe(201);
    const { id, secret } = added.body as { id: string; secret: string };
    expect(secret).toMatch(/^whsec_/);
    const listed = await t.call('GET', '/v1/webhooks');
    expect(listed.body.items).toEqual([expect.objectContaining({ id, url: receiverUrl })]);
    expect(JSON.stringify(listed.body)).not.toContain(secret);

    // The first delivery fails once: the retry (after about a second) must still get it there.
    answers.push(503);
    const csv =
      'email\nsuccess@simulator.amazonses.com\nbounce@simulator.amazonses.com\ncomplaint@simulator.amazonses.com\n';
    const campaign = await sendHook('hooks.csv', csv);

    const ofCampaign = (type: string) =>
      received.filter((r) => r.event.type === type && (r.event.data.campaignId ?? null) === campaign.id);
    const statuses = await waitFor('the completed status change', () => {
      const seen = ofCampaign('campaign.status_changed').map(
        (r) => `${r.event.data.from}->${r.event.data.to}`,
      );
      return seen.includes('sending->completed') ? seen : undefined;
    });
    expect(new Set(statuses)).toEqual(new Set(['pending->sending', 'sending->completed']));
    const recipientsOf = (type: string) =>
      ofCampaign(type).flatMap((r) => r.event.data.recipients as string[]);
    await waitFor('the recipient events', () =>
      recipientsOf('recipient.complained').length > 0 && recipientsOf('recipient.bounced').length > 0
        ? true
        : undefined,
    );
    expect(new Set(recipientsOf('recipient.delivered'))).toEqual(
      new Set(['success@simulator.amazonses.com', 'complaint@simulator.amazonses.com']),
    );
    expect(recipientsOf('recipient.bounced')).toEqual(['bounce@simulator.amazonses.com']);
    expect(ofCampaign('recipient.bounced')[0]?.event.data).toMatchObject({ bounceType: 'Permanent' });
    expect(recipientsOf('recipient.complained')).toEqual(['complaint@simulator.amazonses.com']);

    // Every POST verifies with the subscriber's secret, and says which event it carries.
    for (const r of received) {
      const check = verifySignature(
        r.headers['sixback-signature'] as string,
        r.body,
        secret,
        Math.floor(Date.now() / 1000),
      );
      expect(check.ok).toBe(true);
      expect(r.headers['sixback-event-id']).toBe(r.event.id);
    }

    await (t.stack.deps.publisher as LocalWebhookPublisher).idle();
    const log = await t.call('GET', `/v1/webhooks/${id}/log?limit=200`);
    const items = log.body.items as {
      eventId: string;
      attempt: number;
      ok: boolean;
      status: number;
      nextAttemptAt: string | null;
    }[];
    // One line per attempt: every POST the receiver saw, the failed one with its retry time.
    expect(items).toHaveLength(received.length);
    const failed = items.filter((a) => !a.ok);
    expect(failed).toEqual([
      expect.objectContaining({ attempt: 1, status: 503, nextAttemptAt: expect.any(String) }),
    ]);
    const retried = items.find((a) => a.eventId === failed[0]?.eventId && a.ok);
    expect(retried).toMatchObject({ attempt: 2, status: 200, nextAttemptAt: null });
  }, 60_000);

  it('a one-click unsubscribe whose publish failed is published once, with the same id, by the next POST', async () => {
    const added = await t.call('POST', '/v1/webhooks', {
      url: receiverUrl,
      events: ['recipient.unsubscribed'],
    });
    expect(added.status).toBe(201);
    const campaign = await sendHook('unsub.csv', 'email\nleaver@example.com\n');
    const url = `${t.server.url}/u/${t.stack.deps.unsubscribeLinks.url({ campaignId: campaign.id, key: 'leaver@example.com' }).split('/u/')[1]}`;
    const publisher = t.stack.deps.publisher as LocalWebhookPublisher;
    const unsubscribed = () =>
      received.filter(
        (r) => r.event.type === 'recipient.unsubscribed' && r.event.data.campaignId === campaign.id,
      );

    // The bus refuses the unsubscribe once: the POST still answers, and the address is suppressed.
    const publish = publisher.publish.bind(publisher);
    let refused = 0;
    const refuse = vi.spyOn(publisher, 'publish').mockImplementation(async (events) => {
      if (events.some((e) => e.type === 'recipient.unsubscribed')) {
        refuse.mockRestore();
        refused++;
        throw new EventPublishError(
          'the bus is down',
          events.map((e) => e.id),
        );
      }
      return publish(events);
    });
    const post = () => fetch(url, { method: 'POST', body: 'List-Unsubscribe=One-Click' });
    expect((await post()).status).toBe(200);
    expect(refused).toBe(1);
    expect(await t.stack.deps.suppression.get('leaver@example.com')).toMatchObject({ reason: 'unsubscribe' });
    await publisher.idle();
    expect(unsubscribed()).toEqual([]);
    expect((await t.stack.deps.campaigns.get(campaign.id)).events).toMatchObject({ unsubscribe: 1 });

    // Mail clients repeat the POST: the first repeat publishes what was left in the outbox, the rest nothing.
    for (let i = 0; i < 3; i++) expect((await post()).status).toBe(200);
    await waitFor('the unsubscribe webhook', () => unsubscribed().length > 0);
    await publisher.idle();
    expect(unsubscribed().map((r) => r.event)).toEqual([
      expect.objectContaining({
        id: expect.stringMatching(/^evt_/),
        data: expect.objectContaining({ recipients: ['leaver@example.com'], via: 'one-click' }),
      }),
    ]);
    expect((await t.stack.deps.campaigns.get(campaign.id)).events).toMatchObject({ unsubscribe: 1 });
    const stats = await t.call('GET', `/v1/campaigns/${campaign.id}/stats`);
    expect(stats.body).toMatchObject({ counts: { unsubscribed: 1 } });
    expect((await t.call('DELETE', `/v1/webhooks/${added.body.id as string}`)).status).toBe(200);
  }, 60_000);

  it("the test button sends a signed webhook.test and answers the receiver's reply", async () => {
    const added = await t.call('POST', '/v1/webhooks', { url: receiverUrl });
    const { id, secret } = added.body as { id: string; secret: string };
    answers.push(500);
    const failed = await t.call('POST', `/v1/webhooks/${id}/test`);
    expect(failed.body).toMatchObject({ ok: false, status: 500, attempt: 1, nextAttemptAt: null });
    const ok = await t.call('POST', `/v1/webhooks/${id}/test`);
    expect(ok.body).toMatchObject({ ok: true, status: 200 });
    const last = received.at(-1) as Received;
    expect(last.event).toMatchObject({ type: 'webhook.test', data: { subscriptionId: id } });
    expect(
      verifySignature(
        last.headers['sixback-signature'] as string,
        last.body,
        secret,
        Math.floor(Date.now() / 1000),
      ).ok,
    ).toBe(true);
    const log = await t.call('GET', `/v1/webhooks/${id}/log`);
    expect((log.body.items as { ok: boolean }[]).map((a) => a.ok)).toEqual([true, false]);
    expect((await t.call('DELETE', `/v1/webhooks/${id}`)).status).toBe(200);
    expect((await t.call('GET', `/v1/webhooks/${id}`)).status).toBe(404);
  });
});
