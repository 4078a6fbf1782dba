/** `sixback events inject`: SES events for the local stack, whose SES stand-in produces none. */
import type { Command } from 'commander';
import { INJECTABLE_EVENT_TYPES } from '../../core/compliance/events.ts';
import { describeAlarm } from '../../core/compliance/health.ts';
import { type CommonOptions, clientFor, run, withConnection } from '../command.ts';
import { CliError, EXIT } from '../exit.ts';
import { printJson } from '../output.ts';

interface InjectAnswer {
  counted: string | null;
  suppressed: string[];
  health: { complaintRate: number; bounceRate: number; status: string } | null;
  alarmsRaised: { metric: string; value: number; threshold: number }[];
}

export function register(program: Command): void {
  const events = program.command('events').description('SES sending events (bounces, complaints...).');
  withConnection(
    events
      .command('inject')
      .description(
        'Make SES publish an event, locally: it runs through the same handler as on AWS (suppression, counters, alarms).',
      )
      .requiredOption('--type <type>', `one of ${INJECTABLE_EVENT_TYPES.join(', ')}`)
      .requiredOption('--email <address>', 'the recipient the event is about')
      .requiredOption('--campaign <id>', 'the campaign that sent the email')
      .addHelpText(
        'after',
        '\nExamples:\n  sixback events inject --type bounce --email ann@example.com --campaign c123\n  sixback events inject --type complaint --email bob@example.com --campaign c123',
      ),
  ).action(
    run(async (options: CommonOptions & { type: string; email: string; campaign: string }) => {
      if (!(INJECTABLE_EVENT_TYPES as readonly string[]).includes(options.type)) {
        throw new CliError(`--type must be one of ${INJECTABLE_EVENT_TYPES.join(', ')}.`, EXIT.usage);
      }
      const answer = await clientFor(options).json<InjectAnswer>('POST', '/v1/local/ses-events', {
        body: { type: options.type, email: options.email, campaignId: options.campaign },
      });
      if (options.json) return printJson(answer);
      console.log(`recorded ${options.type} for ${options.email} on campaign ${options.campaign}`);
      if (answer.suppressed.length > 0) console.log(`suppressed: ${answer.suppressed.join(', ')}`);
      if (answer.health) {
        const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
        console.log(
          `campaign: complaint rate ${pct(answer.health.complaintRate)}, bounce rate ${pct(answer.health.bounceRate)} (${answer.health.status})`,
        );
      }
      for (const alarm of answer.alarmsRaised) {
        console.log(describeAlarm(alarm));
      }
    }),
  );
}
