/** `sixback templates put|list|show|preview|delete`. */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { TemplateRecord } from '../../core/schemas.ts';
import type { TemplateSummary } from '../../core/templates/store.ts';
import { type CommonOptions, clientFor, run, withConnection } from '../command.ts';
import { CliError, EXIT } from '../exit.ts';
import { collectVariable, confirm, positiveInt, printJson, sourcePointer, table } from '../output.ts';

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(`Cannot read the ${what} file ${path}: ${(error as Error).message}`, EXIT.usage);
  }
}

interface PreviewAnswer {
  subject: string;
  html: string;
  text?: string;
  sampled: string[];
  template: { id: string; version: number };
}

/**
 * A template syntax error from the API names the part, line and column; this adds the source line and a
 * caret under the column, as a compiler would, from the text the user just sent.
 */
function withSourceLine(error: unknown, body: Record<string, unknown>): unknown {
  if (!(error instanceof CliError)) return error;
  const where = error.details as { part?: string; line?: number | null; column?: number | null } | undefined;
  if (!where || typeof where !== 'object' || Array.isArray(where) || !where.part || !where.line) return error;
  const source = body[where.part];
  if (typeof source !== 'string') return error;
  return new CliError(
    `${error.message}\n${sourcePointer(source, where.line, where.column ?? 1, `${where.part} `)}`,
    error.exitCode,
    error.details,
    error.code,
  );
}

export function register(program: Command): void {
  const templates = program
    .command('templates')
    .description('Store, list, show, preview and delete email templates (liquid).');

  withConnection(
    templates
      .command('put <id>')
      .description('Save a template: a new version each time (campaigns keep the version they started with).')
      .option('--subject <liquid>', 'subject line')
      .option('--html <file>', 'HTML body file')
      .option('--text <file>', 'plain-text body file')
      .option('--name <name>', 'a name for people')
      .option('--file <json>', 'all of it as one JSON file {name, subject, html, text}')
      .addHelpText(
        'after',
        '\nExamples:\n  sixback templates put welcome --subject "Welcome, {{ first_name }}" --html welcome.html --text welcome.txt\n  sixback templates put welcome --file welcome.json --json',
      ),
  ).action(
    run(
      async (
        id: string,
        options: CommonOptions & {
          subject?: string;
          html?: string;
          text?: string;
          name?: string;
          file?: string;
        },
      ) => {
        let body: Record<string, unknown>;
        if (options.file) {
          try {
            body = JSON.parse(readText(options.file, 'template'));
          } catch (error) {
            if (error instanceof CliError) throw error;
            throw new CliError(`${options.file} is not JSON: ${(error as Error).message}`, EXIT.usage);
          }
        } else {
          if (!options.subject || !options.html) {
            throw new CliError(
              'Give --subject and --html (and optionally --text), or --file template.json.',
              EXIT.usage,
            );
          }
          body = {
            subject: options.subject,
            html: readText(options.html, 'HTML'),
            ...(options.text ? { text: readText(options.text, 'text') } : {}),
          };
        }
        if (options.name) body.name = options.name;
        const saved = await clientFor(options)
          .json<TemplateRecord>('PUT', `/v1/templates/${encodeURIComponent(id)}`, { body })
          .catch((error: unknown) => {
            throw withSourceLine(error, body);
          });
        if (options.json) printJson(saved);
        else
          console.log(
            `saved template ${saved.id} version ${saved.version} (variables: ${saved.variables.join(', ') || 'none'})`,
          );
      },
    ),
  );

  withConnection(
    templates
      .command('list')
      .description('List templates (latest version of each).')
      .addHelpText('after', '\nExample:\n  sixback templates list'),
  ).action(
    run(async (options: CommonOptions) => {
      const { items } = await clientFor(options).json<{ items: TemplateSummary[] }>('GET', '/v1/templates');
      if (options.json) return printJson(items);
      if (items.length === 0)
        return console.log('no templates yet: sixback templates put <id> --subject ... --html file.html');
      console.log(
        table(
          items.map((t) => [
            t.id,
            t.version,
            t.name ?? '',
            t.subject,
            t.createdAt.slice(0, 16).replace('T', ' '),
          ]),
          ['ID', 'VERSION', 'NAME', 'SUBJECT', 'SAVED (UTC)'],
        ),
      );
    }),
  );

  withConnection(
    templates
      .command('show <id>')
      .description('Show a template: the latest version, or --version N.')
      .option('--version <n>', 'a specific version', positiveInt)
      .option('--versions', 'list every version instead', false)
      .addHelpText(
        'after',
        '\nExamples:\n  sixback templates show welcome\n  sixback templates show welcome --version 2 --json\n  sixback templates show welcome --versions',
      ),
  ).action(
    run(async (id: string, options: CommonOptions & { version?: number; versions: boolean }) => {
      const client = clientFor(options);
      if (options.versions) {
        const { items } = await client.json<{ items: TemplateSummary[] }>(
          'GET',
          `/v1/templates/${encodeURIComponent(id)}/versions`,
        );
        if (options.json) return printJson(items);
        return console.log(
          table(
            items.map((t) => [t.version, t.subject, t.createdAt]),
            ['VERSION', 'SUBJECT', 'SAVED (UTC)'],
          ),
        );
      }
      const query = options.version ? `?version=${options.version}` : '';
      const t = await client.json<TemplateRecord>('GET', `/v1/templates/${encodeURIComponent(id)}${query}`);
      if (options.json) return printJson(t);
      console.log(
        `template ${t.id} version ${t.version}${t.name ? ` (${t.name})` : ''}, saved ${t.createdAt}`,
      );
      console.log(`variables: ${t.variables.join(', ') || 'none'}`);
      console.log(`subject: ${t.subject}\n\n--- html ---\n${t.html}`);
      if (t.text) console.log(`\n--- text ---\n${t.text}`);
    }),
  );

  withConnection(
    templates
      .command('preview <id>')
      .description('Render a template with variables (--data), the first row of an uploaded CSV, or samples.')
      .option('--version <n>', 'a specific version', positiveInt)
      .option('-d, --data <name=value>', 'a variable (repeatable)', collectVariable)
      .option('--recipients <key>', 'take variables from the first row of this uploaded CSV')
      .option('--out <file>', 'write the HTML to a file to open in a browser')
      .addHelpText(
        'after',
        '\nExamples:\n  sixback templates preview welcome --data first_name=Ada --data city=Seoul\n  sixback templates preview welcome --recipients uploads/recipients/2026-11-25/3f...csv --out preview.html',
      ),
  ).action(
    run(
      async (
        id: string,
        options: CommonOptions & {
          version?: number;
          data?: Record<string, string>;
          recipients?: string;
          out?: string;
        },
      ) => {
        const preview = await clientFor(options).json<PreviewAnswer>(
          'POST',
          `/v1/templates/${encodeURIComponent(id)}/preview`,
          {
            body: {
              ...(options.version ? { version: options.version } : {}),
              ...(options.data ? { variables: options.data } : {}),
              ...(options.recipients ? { recipientsKey: options.recipients } : {}),
            },
          },
        );
        if (options.out) writeFileSync(options.out, preview.html);
        if (options.json) return printJson(preview);
        console.log(`template ${preview.template.id} version ${preview.template.version}`);
        if (preview.sampled.length > 0) console.log(`sample values for: ${preview.sampled.join(', ')}`);
        console.log(`subject: ${preview.subject}`);
        if (options.out) console.log(`html written to ${options.out}`);
        else console.log(`\n--- html ---\n${preview.html}`);
        if (preview.text) console.log(`\n--- text ---\n${preview.text}`);
      },
    ),
  );

  withConnection(
    templates
      .command('delete <id>')
      .description('Delete every version of a template (refused while an unfinished campaign uses it).')
      .option('-y, --yes', 'do not ask for confirmation', false)
      .addHelpText('after', '\nExample:\n  sixback templates delete old-newsletter --yes'),
  ).action(
    run(async (id: string, options: CommonOptions & { yes: boolean }) => {
      if (!options.yes && !(await confirm(`Delete every version of template "${id}"?`))) {
        throw new CliError('Not deleted: confirm on a terminal, or pass --yes.', EXIT.usage);
      }
      const out = await clientFor(options).json<{ id: string; deletedVersions: number }>(
        'DELETE',
        `/v1/templates/${encodeURIComponent(id)}`,
      );
      if (options.json) printJson(out);
      else
        console.log(
          `deleted template ${out.id} (${out.deletedVersions} version${out.deletedVersions === 1 ? '' : 's'})`,
        );
    }),
  );
}
