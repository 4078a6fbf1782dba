/** `sixback upload <file>`: a presigned POST straight to S3, then the API's check of the CSV. */
import { existsSync, openAsBlob, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { Command } from 'commander';
import type { PresignedUpload, RecipientsUploadCheck } from '../../core/recipients/uploads.ts';
import { SHORT_ROW_ACTIONS, type ShortRowAction } from '../../core/schemas.ts';
import type { ApiClient } from '../client.ts';
import { type CommonOptions, clientFor, run, withConnection } from '../command.ts';
import { CliError, EXIT } from '../exit.ts';
import { printJson } from '../output.ts';

const TYPES: Record<string, { kind: 'recipients' | 'image'; contentType: string }> = {
  '.csv': { kind: 'recipients', contentType: 'text/csv' },
  '.png': { kind: 'image', contentType: 'image/png' },
  '.jpg': { kind: 'image', contentType: 'image/jpeg' },
  '.jpeg': { kind: 'image', contentType: 'image/jpeg' },
  '.gif': { kind: 'image', contentType: 'image/gif' },
  '.webp': { kind: 'image', contentType: 'image/webp' },
};

export async function uploadFile(client: ApiClient, path: string): Promise<PresignedUpload> {
  if (!existsSync(path) || !statSync(path).isFile()) throw new CliError(`No file ${path}.`, EXIT.usage);
  const type = TYPES[extname(path).toLowerCase()];
  if (!type) {
    throw new CliError(
      `Cannot upload ${basename(path)}: sixback takes .csv recipients and .png/.jpg/.gif/.webp images.`,
      EXIT.usage,
    );
  }
  const size = statSync(path).size;
  if (size === 0) throw new CliError(`${path} is empty.`, EXIT.usage);
  const presigned = await client.json<PresignedUpload>('POST', '/v1/uploads', { body: { ...type, size } });
  const form = new FormData();
  for (const [name, value] of Object.entries(presigned.fields)) form.append(name, value);
  // A file-backed Blob: the file is streamed, not read into memory.
  form.append('file', await openAsBlob(path, { type: type.contentType }), basename(path));
  let response: Response;
  try {
    response = await fetch(presigned.url, { method: 'POST', body: form });
  } catch (error) {
    throw new CliError(`The upload to S3 failed: ${(error as Error).message}`, EXIT.server);
  }
  const text = await response.text();
  if (!response.ok) {
    const reason = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? `HTTP ${response.status}`;
    throw new CliError(`S3 refused the upload: ${reason}`, response.status >= 500 ? EXIT.server : EXIT.usage);
  }
  return presigned;
}

export async function checkUpload(
  client: ApiClient,
  key: string,
  emailColumn?: string,
  shortRows?: ShortRowAction,
): Promise<RecipientsUploadCheck> {
  return client.json<RecipientsUploadCheck>('POST', '/v1/uploads/check', {
    body: { key, ...(emailColumn ? { emailColumn } : {}), ...(shortRows ? { shortRows } : {}) },
    retries: 2,
  });
}

export const SHORT_ROWS_HELP =
  'rows with fewer fields than the header: "skip" them as invalid (default), "pad" them with empty values and send, or "refuse" the file';

export function shortRowAction(value: string): ShortRowAction {
  if (!(SHORT_ROW_ACTIONS as readonly string[]).includes(value))
    throw new CliError(
      `--short-rows is ${SHORT_ROW_ACTIONS.map((a) => `"${a}"`).join(', ')}, not "${value}".`,
      EXIT.usage,
    );
  return value as ShortRowAction;
}

export function describeCheck(check: RecipientsUploadCheck): string[] {
  const lines = [
    `  columns      ${check.columns.join(', ')} (addresses in "${check.emailColumn}")`,
    `  rows         ${check.rows}`,
    `  sendable     ${check.valid}`,
  ];
  if (check.invalid > 0) lines.push(`  invalid      ${check.invalid} (skipped)`);
  if (check.duplicates > 0) {
    const shown = (check.duplicateRows ?? []).slice(0, 5);
    const which = shown.map((d) => `row ${d.row} repeats row ${d.sameAs}`).join(', ');
    const more = check.duplicates > shown.length ? `, and ${check.duplicates - shown.length} more` : '';
    lines.push(`  duplicates   ${check.duplicates} (sent once)${which ? `: ${which}${more}` : ''}`);
  }
  if (check.delimiter && check.delimiter !== ',')
    lines.push(
      `  delimiter    ${check.delimiter === '\t' ? 'tab' : `"${check.delimiter}"`} (detected from the header)`,
    );
  if (check.shortRows) {
    const listed = check.shortRowNumbers ?? [];
    lines.push(
      `  short rows   ${check.shortRows} with fewer fields than the header: row${listed.length > 1 ? 's' : ''} ${listed.slice(0, 20).join(', ')}${check.shortRows > Math.min(20, listed.length) ? ', ...' : ''}`,
    );
  }
  if (check.problems.length > 0) {
    lines.push('  problems:');
    for (const p of check.problems.slice(0, 10)) lines.push(`    row ${p.row}: ${p.problem}`);
    if (check.invalid > 10) lines.push(`    ... and more; the campaign report lists every row`);
  }
  return lines;
}

export function register(program: Command): void {
  withConnection(
    program
      .command('upload <file>')
      .description('Upload a recipients CSV (then check it) or an image; prints the key to use.')
      .option('--email-column <name>', 'the CSV column with addresses (default: the one named email)')
      .option('--short-rows <what>', SHORT_ROWS_HELP, shortRowAction)
      .addHelpText(
        'after',
        '\nExamples:\n  sixback upload recipients.csv\n  KEY=$(sixback upload recipients.csv --json | jq -r .key)\n  sixback upload logo.png',
      ),
  ).action(
    run(
      async (file: string, options: CommonOptions & { emailColumn?: string; shortRows?: ShortRowAction }) => {
        const client = clientFor(options);
        const upload = await uploadFile(client, file);
        if (upload.kind !== 'recipients') {
          if (options.json) printJson({ key: upload.key, kind: upload.kind });
          else console.log(`uploaded ${file} as ${upload.key}`);
          return;
        }
        const check = await checkUpload(client, upload.key, options.emailColumn, options.shortRows);
        if (options.json) return printJson(check);
        console.log(`uploaded ${file} as ${upload.key}`);
        for (const line of describeCheck(check)) console.log(line);
        console.log(
          `\nsend it: sixback send --template <id> --recipients ${upload.key} --from you@example.com`,
        );
      },
    ),
  );
}
