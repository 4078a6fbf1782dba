/** `sixback suppression list|show|add|remove|import`: the addresses sixback never mails. */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import type { SuppressionEntry } from '../../core/compliance/suppression.ts';
import type { SuppressionImportResult } from '../../core/compliance/suppression-import.ts';
import type { JobView } from '../../core/jobs/jobs.ts';
import { type CommonOptions, clientFor, run, withConnection } from '../command.ts';
import { CliError, EXIT } from '../exit.ts';
import { waitForJob } from '../jobs.ts';
import { positiveInt, printJson, table } from '../output.ts';
import { uploadFile } from './upload.ts';

const REASONS = ['manual', 'unsubscribe', 'bounce', 'complaint'];
/** Files up to this size go inline in the request; larger ones are uploaded to the bucket first. */
const INLINE_BYTES = 900 * 1024;

const reasonOf = (value: string) => {
  if (!REASONS.includes(value)) throw new InvalidArgumentError(`must be one of ${REASONS.join(', ')}`);
  return value;
};

const path = (email: string) => `/v1/suppression/${encodeURIComponent(email.trim())}`;

export function register(program: Command): void {
  const suppression = program
    .command('suppression')
    .description('The suppression list: unsubscribes, hard bounces, complaints and addresses added by hand.');

  withConnection(
    suppression
      .command('list')
      .description('List suppressed addresses, a page at a time.')
      .option('--search <text>', 'only addresses containing this text')
      .option('--limit <n>', 'entries per page', positiveInt, 50)
      .option('--cursor <cursor>', 'continue from a previous page')
      .option('--all', 'every page', false)
      .addHelpText(
        'after',
        '\nExamples:\n  sixback suppression list --search example.org\n  sixback suppression list --all --json',
      ),
  ).action(
    run(
      async (options: CommonOptions & { search?: string; limit: number; cursor?: string; all: boolean }) => {
        const client = clientFor(options);
        const items: SuppressionEntry[] = [];
        let cursor = options.cursor;
        do {
          const query = new URLSearchParams({ limit: String(options.limit) });
          if (options.search) query.set('search', options.search);
          if (cursor) query.set('cursor', cursor);
          const page = await client.json<{ items: SuppressionEntry[]; cursor: string | null }>(
            'GET',
            `/v1/suppression?${query}`,
          );
          items.push(...page.items);
          cursor = page.cursor ?? undefined;
        } while (options.all && cursor);
        if (options.json) return printJson({ items, cursor: cursor ?? null });
        if (items.length === 0) console.log('No suppressed addresses.');
        else
          console.log(
            table(
              items.map((e) => [e.key, e.reason, e.source, e.at]),
              ['EMAIL', 'REASON', 'SOURCE', 'SINCE'],
            ),
          );
        if (cursor) console.log(`\nmore: sixback suppression list --cursor ${cursor}`);
      },
    ),
  );

  withConnection(
    suppression.command('show <email>').description('Whether an address is suppressed, and why.'),
  ).action(
    run(async (email: string, options: CommonOptions) => {
      const entry = await clientFor(options).json<SuppressionEntry>('GET', path(email));
      if (options.json) return printJson(entry);
      console.log(`${entry.key}: ${entry.reason} (source ${entry.source}, since ${entry.at})`);
    }),
  );

  withConnection(
    suppression
      .command('add <emails...>')
      .description('Suppress addresses by hand.')
      .option('--reason <reason>', `why: ${REASONS.join(', ')}`, reasonOf, 'manual')
      .addHelpText('after', '\nExample:\n  sixback suppression add ann@example.com bob@example.com'),
  ).action(
    run(async (emails: string[], options: CommonOptions & { reason: string }) => {
      const client = clientFor(options);
      const added: SuppressionEntry[] = [];
      for (const email of emails) {
        added.push(
          await client.json<SuppressionEntry>('POST', '/v1/suppression', {
            body: { email, reason: options.reason, source: 'cli' },
          }),
        );
      }
      if (options.json) return printJson({ items: added });
      for (const entry of added) console.log(`suppressed ${entry.key} (${entry.reason})`);
    }),
  );

  withConnection(
    suppression
      .command('remove <email>')
      .description('Take an address off the list: sixback will mail it again.'),
  ).action(
    run(async (email: string, options: CommonOptions) => {
      await clientFor(options).fetch('DELETE', path(email));
      if (options.json) return printJson({ removed: email.trim().toLowerCase() });
      console.log(`removed ${email.trim().toLowerCase()}`);
    }),
  );

  withConnection(
    suppression
      .command('import <file>')
      .description('Suppress every address in a CSV (a column named email, or one address per line).')
      .option('--reason <reason>', `why: ${REASONS.join(', ')}`, reasonOf, 'manual')
      .addHelpText(
        'after',
        '\nExample:\n  sixback suppression import old-unsubscribes.csv --reason unsubscribe',
      ),
  ).action(
    run(async (file: string, options: CommonOptions & { reason: string }) => {
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        throw new CliError(`No file ${file}.`, EXIT.usage);
      }
      const client = clientFor(options);
      const name = basename(file);
      const body =
        size <= INLINE_BYTES
          ? { csv: readFileSync(file, 'utf8'), name, reason: options.reason }
          : { key: (await uploadFile(client, file)).key, name, reason: options.reason };
      const answer = await client.json<SuppressionImportResult | { job: JobView }>(
        'POST',
        '/v1/suppression/import',
        { body },
      );
      // An uploaded file is imported by a job (202): wait for it, showing the rows read so far.
      const result =
        'job' in answer
          ? ((
              await waitForJob(client, answer.job, {
                what: `importing ${name}`,
                quiet: Boolean(options.json),
              })
            ).result as unknown as SuppressionImportResult)
          : answer;
      if (options.json) return printJson(result);
      console.log(
        `${result.rows} row(s) read, ${result.added} address(es) suppressed, ${result.invalid} invalid.`,
      );
      for (const p of result.problems.slice(0, 20)) console.log(`  line ${p.line}: ${p.problem}`);
      if (result.invalid > 0) return EXIT.failed;
    }),
  );
}
