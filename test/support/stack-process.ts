/**
 * The local stack in a child process, for tests that kill it: `fork()` this file with a JSON argument
 * ({ dataDir, sesEndpoint, ... }); it starts the stack on that data folder (picking up interrupted
 * campaigns), then answers requests over the IPC channel:
 *
 *   { op: 'create', request, csv, template } -> { id }           (uploads the CSV, saves the template)
 *   { op: 'get', id }                        -> { record }
 *   { op: 'waitFinal', id }                  -> { record }       (polls until the campaign's status is final)
 *   { op: 'report', id }                     -> { csv }
 *
 * It sends { op: 'ready', restarted: [ids] } once started. Every answer carries the request's `seq`.
 */
import '../../local/polyfill.ts';
import { createCampaign } from '../../core/campaigns/service.ts';
import { isFinal } from '../../core/campaigns/status.ts';
import { type LocalStackOptions, startLocalStack } from '../../local/stack.ts';
import { readObject, saveTemplate, uploadCsv } from './local-stack.ts';
import { waitFor } from './wait.ts';

interface Request {
  seq: number;
  op: 'create' | 'get' | 'waitFinal' | 'report';
  id?: string;
  request?: Record<string, unknown>;
  csv?: string;
  template?: { subject: string; html: string };
}

const options = JSON.parse(process.argv[2] ?? '{}') as LocalStackOptions;
const stack = await startLocalStack({
  retryIntervalOverrides: {
    SendBatch: 10,
    Prepare: 10,
    BeginSending: 10,
    Finalise: 10,
    RecordFailure: 10,
    SendSampleBatch: 10,
    SendRemainderBatch: 10,
    PickWinner: 10,
    FinaliseTest: 10,
  },
  ...options,
});

async function answer(message: Request): Promise<Record<string, unknown>> {
  switch (message.op) {
    case 'create': {
      if (message.template) await saveTemplate(stack, 'plain', message.template);
      const recipientsKey = await uploadCsv(stack, `r-${message.seq}.csv`, message.csv ?? '');
      const created = await createCampaign({ ...message.request, recipientsKey }, stack.campaignDeps);
      return { id: created.id };
    }
    case 'get':
      return { record: await stack.deps.campaigns.get(message.id as string) };
    case 'waitFinal': {
      const record = await waitFor(
        `campaign ${message.id} in a final status`,
        async () => {
          const polled = await stack.deps.campaigns.get(message.id as string);
          return isFinal(polled.status) || polled.status === 'completed' ? polled : undefined;
        },
        // Inside the integ tier's 180 s test timeout, so a campaign that never ends says so.
        150_000,
      );
      return { record };
    }
    case 'report': {
      const record = await stack.deps.campaigns.get(message.id as string);
      return { csv: record.reportKey ? await readObject(stack, record.reportKey) : '' };
    }
  }
}

process.on('message', (message: Request) => {
  answer(message).then(
    (result) => process.send?.({ seq: message.seq, ...result }),
    (error: Error) => process.send?.({ seq: message.seq, error: `${error.name}: ${error.message}` }),
  );
});
process.on('disconnect', () => {
  void stack.stop().finally(() => process.exit(0));
});
process.send?.({ op: 'ready', restarted: stack.restarted.map((c) => c.id) });
