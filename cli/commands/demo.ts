/** `sixback demo` (what `npm run demo` runs): a real campaign on the embedded local stack. */
import type { Command } from 'commander';
import { positiveInt, positiveNumber } from '../output.ts';

export function register(program: Command): void {
  program
    .command('demo')
    .description('Run a real campaign on the embedded local stack: no AWS account needed.')
    .option('--recipients <n>', 'how many sample recipients', positiveInt, 1000)
    .option('--rate <n>', 'emails per second', positiveNumber, 250)
    .option('--json', 'print the summary as one JSON object on the last line', false)
    .option('--keep', 'keep the local SES inbox open after the campaign', false)
    .option(
      '--simulator',
      'also send to the SES mailbox simulator (success@, bounce@, ooto@, complaint@, suppressionlist@) and report bounced and complained',
      false,
    )
    .addHelpText(
      'after',
      '\nExamples:\n  sixback demo\n  sixback demo --recipients 5000 --rate 500 --json\n  sixback demo --simulator --json\n  sixback demo --keep   # then open the inbox URL it prints',
    )
    .action(async (options) => {
      const { runDemo } = await import('../demo.ts');
      const summary = await runDemo({
        ...options,
        ...(process.stdout.isTTY && !options.json
          ? { redraw: (line: string) => process.stdout.write(line ? `\r\x1b[2K${line}` : '\n') }
          : {}),
      });
      process.exitCode = summary.status === 'completed' ? 0 : 1;
    });
}
