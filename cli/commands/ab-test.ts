/**
 * The A/B test on the command line: `sixback send --variant ... --sample 20% --metric clicks
 * --decide-after 4h`, the test in `sixback status`, and `sixback pick <id> <variant>`.
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { CampaignView } from '../../core/campaigns/view.ts';
import type { VariantSpec } from '../../core/schemas.ts';
import { type CommonOptions, clientFor, run, withConnection } from '../command.ts';
import { CliError, EXIT } from '../exit.ts';
import { printJson } from '../output.ts';
import { describeCampaign } from './campaigns.ts';

/**
 * One `--variant`: `template=ID[@VERSION]` and/or `subject=TEXT` (subject= takes the rest of the value,
 * commas and all); a value with neither is a subject.
 */
export function parseVariant(value: string, previous: VariantSpec[] = []): VariantSpec[] {
  const text = value.trim();
  const variant: VariantSpec = {};
  let rest = text;
  const template = /^template=([A-Za-z0-9_-]{1,64})(?:@(\d+))?(?:\s+|$)/.exec(rest);
  if (template) {
    variant.templateId = template[1] as string;
    if (template[2]) variant.templateVersion = Number(template[2]);
    rest = rest.slice(template[0].length);
  }
  if (rest.startsWith('subject=')) variant.subject = rest.slice('subject='.length);
  else if (rest !== '' && !template) variant.subject = rest;
  else if (rest !== '')
    throw new InvalidArgumentError(`"${value}": after template=... only subject=... may follow`);
  if (variant.subject === '') throw new InvalidArgumentError(`"${value}": the subject is empty`);
  return [...previous, variant];
}

/** `20%` or `0.2`: the sample as a fraction. */
export function parseSample(value: string): number {
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(value.trim());
  const fraction = percent ? Number(percent[1]) / 100 : Number(value);
  if (!Number.isFinite(fraction) || fraction <= 0 || fraction > 1)
    throw new InvalidArgumentError(
      `"${value}" is not a sample size: use a percentage (20%) or a fraction (0.2)`,
    );
  return fraction;
}

export interface AbTestOptions {
  variant?: VariantSpec[];
  sample?: number;
  metric?: string;
  decideAfter?: string;
  decideAt?: string;
  confidence?: number;
  fallback?: string;
}

export function addAbTestOptions(command: Command): Command {
  return command
    .option(
      '--variant <spec>',
      'an A/B test variant (repeat 2-5 times): "subject=TEXT", "template=ID[@N]", or both ("template=ID subject=TEXT")',
      parseVariant,
    )
    .option(
      '--sample <size>',
      'A/B: share of the recipients in the test, e.g. 20% (default 20%)',
      parseSample,
    )
    .option('--metric <metric>', 'A/B: what decides the winner: "opens" or "clicks" (default clicks)')
    .option(
      '--decide-after <duration>',
      'A/B: decide this long after the sample is sent: 90m, 4h, 1d (default 4h)',
    )
    .option('--decide-at <time>', 'A/B: decide at this time (RFC 3339), instead of --decide-after')
    .option('--confidence <c>', 'A/B: confidence the winner must reach, e.g. 0.95 or 95%', (v) =>
      parseSample(v),
    )
    .option(
      '--fallback <what>',
      'A/B: with no winner, "A" (send variant A, default) or "hold" (wait for sixback pick)',
    );
}

/** The request's abTest from the options; undefined when no --variant was given. */
export function abTestRequest(options: AbTestOptions): Record<string, unknown> | undefined {
  const others = ['sample', 'metric', 'decideAfter', 'decideAt', 'confidence', 'fallback'] as const;
  if (!options.variant) {
    const stray = others.filter((name) => options[name] !== undefined);
    if (stray.length > 0)
      throw new CliError(
        `--${stray[0]?.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --variant.`,
        EXIT.usage,
      );
    return undefined;
  }
  return {
    variants: options.variant,
    sample: options.sample ?? 0.2,
    metric: options.metric ?? 'clicks',
    ...(options.decideAt ? { decideAt: options.decideAt } : { decideAfter: options.decideAfter ?? '4h' }),
    ...(options.confidence !== undefined ? { confidence: options.confidence } : {}),
    ...(options.fallback ? { fallback: options.fallback } : {}),
  };
}

export function register(program: Command): void {
  withConnection(
    program
      .command('pick <id> <variant>')
      .description(
        "Pick an A/B test's winner by hand: the rest of the campaign gets it (ends the wait early).",
      )
      .addHelpText('after', '\nExamples:\n  sixback pick c1a2b3 B\n  sixback pick c1a2b3 A --json'),
  ).action(
    run(async (id: string, variant: string, options: CommonOptions) => {
      const client = clientFor(options);
      const view = await client.json<CampaignView>('POST', `/v1/campaigns/${encodeURIComponent(id)}/pick`, {
        body: { variant: variant.toUpperCase() },
      });
      if (options.json) printJson(view);
      else console.log(describeCampaign(view));
      return EXIT.ok;
    }),
  );
}
