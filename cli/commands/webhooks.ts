/** `sixback webhooks add|list|remove|test|log`: subscribers that get signed POSTs of sixback's events. */
import type { Command } from 'commander';
import {
  type DeliveryAttempt,
  SUBSCRIPTION_EVENTS,
  type WebhookSubscription,
} from '../../core/webhooks/store.ts';
import { type CommonOptions, clientFor, run, withConnection } from '../command.ts';
import { CliError, EXIT } from '../exit.ts';
import { collectList, positiveInt, printJson, table } from '../output.ts';

export function register(program: Command): void {
  const webhooks = program
    .command('webhooks')
    .description('Signed HTTP POSTs of campaign status changes and recipient events to your endpoints.');

  withConnection(
    webhooks
      .command('add <url>')
      .description('add a subscriber; prints its signing secret (shown only now)')
      .option(
        '--events <types>',
        `comma-separated, of ${SUBSCRIPTION_EVENTS.join(', ')} (default campaign.status_changed); "all" for every one`,
        collectList,
      )
      .option('--description <text>', 'what it is for')
      .option('--secret <secret>', 'use this signing secret (32+ characters) instead of a generated one'),
  ).action(
    run(
      async (
        url: string,
        options: CommonOptions & { events?: string[]; description?: string; secret?: string },
      ) => {
        const events = options.events?.includes('all') ? [...SUBSCRIPTION_EVENTS] : options.events;
        const unknown = (events ?? []).filter((e) => !(SUBSCRIPTION_EVENTS as readonly string[]).includes(e));
        if (unknown.length > 0)
          throw new CliError(
            `Unknown event types: ${unknown.join(', ')}. Use ${SUBSCRIPTION_EVENTS.join(', ')}.`,
            EXIT.usage,
          );
        const created = await clientFor(options).json<WebhookSubscription>('POST', '/v1/webhooks', {
          body: {
            url,
            ...(events ? { events } : {}),
            ...(options.description ? { description: options.description } : {}),
            ...(options.secret ? { secret: options.secret } : {}),
          },
        });
        if (options.json) return printJson(created);
        console.log(`webhook ${created.id} -> ${created.url}`);
        console.log(`events  ${created.events.join(', ')}`);
        console.log(
          `secret  ${created.secret}   (keep it: it is not shown again; see docs/webhooks.md to verify)`,
        );
      },
    ),
  );

  withConnection(webhooks.command('list').description('every subscriber')).action(
    run(async (options: CommonOptions) => {
      const out = await clientFor(options).json<{ items: WebhookSubscription[] }>('GET', '/v1/webhooks');
      if (options.json) return printJson(out);
      if (out.items.length === 0) return console.log('no webhooks');
      console.log(
        table(
          out.items.map((s) => [s.id, s.url, s.events.join(','), s.createdAt]),
          ['id', 'url', 'events', 'created'],
        ),
      );
    }),
  );

  withConnection(webhooks.command('remove <id>').description('stop sending to a subscriber')).action(
    run(async (id: string, options: CommonOptions) => {
      const out = await clientFor(options).json('DELETE', `/v1/webhooks/${encodeURIComponent(id)}`);
      if (options.json) return printJson(out);
      console.log(`removed webhook ${id}`);
    }),
  );

  withConnection(
    webhooks.command('test <id>').description('send a signed webhook.test event now and show the answer'),
  ).action(
    run(async (id: string, options: CommonOptions) => {
      const attempt = await clientFor(options).json<DeliveryAttempt>(
        'POST',
        `/v1/webhooks/${encodeURIComponent(id)}/test`,
      );
      if (options.json) printJson(attempt);
      else
        console.log(
          attempt.ok
            ? `delivered: HTTP ${attempt.status} in ${attempt.durationMs} ms`
            : `NOT delivered: ${attempt.error}`,
        );
      return attempt.ok ? EXIT.ok : EXIT.failed;
    }),
  );

  withConnection(
    webhooks
      .command('log <id>')
      .description('delivery attempts, newest first')
      .option('--limit <n>', 'how many', positiveInt, 50),
  ).action(
    run(async (id: string, options: CommonOptions & { limit: number }) => {
      const out = await clientFor(options).json<{ items: DeliveryAttempt[]; cursor: string | null }>(
        'GET',
        `/v1/webhooks/${encodeURIComponent(id)}/log?limit=${options.limit}`,
      );
      if (options.json) return printJson(out);
      if (out.items.length === 0) return console.log('no deliveries yet');
      console.log(
        table(
          out.items.map((a) => [
            a.at,
            a.eventType,
            a.attempt,
            a.ok ? 'ok' : 'FAIL',
            a.status ?? '-',
            a.error ?? '',
            a.nextAttemptAt ? `retry ${a.nextAttemptAt}` : '',
          ]),
          ['at', 'event', 'try', '', 'http', 'error', 'next'],
        ),
      );
    }),
  );
}
