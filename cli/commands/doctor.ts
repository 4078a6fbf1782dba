/**
 * `sixback doctor`: checks what decides whether mail reaches inboxes (DKIM, DMARC, the SES sandbox and
 * quota, the configuration set that brings bounces and complaints back, unsubscribe settings) and says
 * what to fix. Talks to SES directly with your AWS credentials; `--local` checks the embedded stack.
 */

import { SESv2Client } from '@aws-sdk/client-sesv2';
import type { Command } from 'commander';
import { type DoctorConfig, formatDoctor, runDoctor } from '../../core/compliance/doctor.ts';
import { startLocalStack } from '../../local/stack.ts';
import { run } from '../command.ts';
import { EXIT } from '../exit.ts';
import { printJson } from '../output.ts';

interface DoctorOptions {
  identity?: string[];
  configurationSet?: string;
  publicUrl?: string;
  region?: string;
  local: boolean;
  json: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const optional = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

/** The settings doctor needs, from flags and the same SIXBACK_* variables the deployed functions read. */
export function doctorConfig(options: DoctorOptions, env: NodeJS.ProcessEnv = process.env): DoctorConfig {
  return {
    region: options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    endpoints: { ses: optional(env.SIXBACK_SES_ENDPOINT) },
    configurationSet: options.configurationSet ?? optional(env.SIXBACK_CONFIGURATION_SET),
    senderIdentities: (env.SIXBACK_SENDER_IDENTITIES ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    publicBaseUrl: options.publicUrl ?? optional(env.SIXBACK_PUBLIC_BASE_URL),
    unsubscribeSecretArn: optional(env.SIXBACK_UNSUBSCRIBE_SECRET_ARN),
    unsubscribeSecretParameter: optional(env.SIXBACK_UNSUBSCRIBE_SECRET_PARAMETER),
  };
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description(
      'Check DKIM, DMARC, the SES sandbox and quota, the event destination and unsubscribe settings.',
    )
    .option('--identity <domain-or-address>', 'a sending identity to check (repeatable)', collect)
    .option('--configuration-set <name>', 'the SES configuration set (env SIXBACK_CONFIGURATION_SET)')
    .option('--public-url <url>', 'the API address unsubscribe links use (env SIXBACK_PUBLIC_BASE_URL)')
    .option('--region <region>', 'AWS region (env AWS_REGION)')
    .option('--local', 'check the embedded local stack instead of AWS', false)
    .option('--json', 'print the checks as JSON', false)
    .addHelpText(
      'after',
      '\nExamples:\n  sixback doctor --identity example.com --configuration-set sixback --public-url https://mail.example.com\n  sixback doctor --local',
    )
    .action(
      run(async (options: DoctorOptions) => {
        let checks: Awaited<ReturnType<typeof runDoctor>>;
        if (options.local) {
          const stack = await startLocalStack({ ephemeral: true });
          try {
            checks = await runDoctor({ ses: stack.deps.clients.ses, config: stack.config });
          } finally {
            await stack.stop();
          }
        } else {
          const config = doctorConfig(options);
          const ses = new SESv2Client({ region: config.region, endpoint: config.endpoints.ses });
          checks = await runDoctor({ ses, config, identities: options.identity ?? [] });
        }
        if (options.json) printJson({ checks, ok: !checks.some((c) => c.status === 'fail') });
        else console.log(formatDoctor(checks));
        return checks.some((c) => c.status === 'fail') ? EXIT.failed : EXIT.ok;
      }),
    );
}
