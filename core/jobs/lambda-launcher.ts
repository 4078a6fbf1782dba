/**
 * The launcher on AWS: an asynchronous invocation (InvocationType Event) of the Jobs function, which runs
 * the job with up to 15 minutes and Lambda's own retries of a failed async invocation. The API request
 * returns as soon as Lambda has queued the event.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { SixbackConfig } from '../config.ts';
import type { JobLauncher } from './jobs.ts';

export function lambdaJobLauncher(config: SixbackConfig, functionName: string): JobLauncher {
  const lambda = new LambdaClient({ region: config.region });
  return async (jobId) => {
    await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: new TextEncoder().encode(JSON.stringify({ jobId })),
      }),
    );
  };
}
