#!/usr/bin/env node
/** The `sixback` command line. */
import { Command, InvalidArgumentError } from 'commander';
import { runDemo } from './demo.ts';

const positiveInt = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return n;
};
const positive = (value: string) => {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError('must be a positive number');
  return n;
};

const program = new Command('sixback').description(
  'Bulk email campaigns on Step Functions and SES, on AWS or on one machine.',
);

program
  .command('demo')
  .description('Run a real campaign on the embedded local stack: no AWS account needed.')
  .option('--recipients <n>', 'how many sample recipients', positiveInt, 1000)
  .option('--rate <n>', 'emails per second', positive, 250)
  .option('--json', 'print the summary as one JSON object on the last line', false)
  .option('--keep', 'keep the local SES inbox open after the campaign', false)
  .addHelpText(
    'after',
    '\nExamples:\n  sixback demo\n  sixback demo --recipients 5000 --rate 500 --json\n  sixback demo --keep   # then open the inbox URL it prints',
  )
  .action(async (options) => {
    const summary = await runDemo(options);
    process.exitCode = summary.status === 'completed' ? 0 : 1;
  });

program.parseAsync(process.argv).catch((error: Error) => {
  console.error(`sixback: ${error.message}`);
  process.exitCode = 2;
});
