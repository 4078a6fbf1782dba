/**
 * X-Ray tracing of the Lambda handlers (handlers/runtime.ts) and of the AWS clients (core/aws/clients.ts):
 * each invocation in its own subsegment, annotated, its error recorded; nothing at all when tracing is
 * off, which is what Powertools' Tracer is outside Lambda (the local stack, these tests).
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { describe, expect, it } from 'vitest';
import { createClients } from '../../core/aws/clients.ts';
import { configFromEnv } from '../../core/config.ts';
import { type HandlerTracer, type TraceSegment, traced } from '../../handlers/runtime.ts';
import { STORAGE_ENV } from '../support/function-env.ts';

/** A tracer that records what the handler wrapper does with it, in order. */
function recordingTracer(enabled = true) {
  const log: string[] = [];
  let current: TraceSegment | undefined;
  const segment = (name: string): TraceSegment => ({
    addNewSubsegment(child) {
      log.push(`open ${child}`);
      return segment(child);
    },
    close() {
      log.push(`close ${name}`);
    },
  });
  current = segment('facade');
  const tracer: HandlerTracer = {
    isTracingEnabled: () => enabled,
    getSegment: () => current,
    setSegment(s) {
      current = s;
      log.push('set segment');
    },
    annotateColdStart: () => void log.push('annotate ColdStart'),
    addServiceNameAnnotation: () => void log.push('annotate Service'),
    addErrorAsMetadata: (error) => void log.push(`error ${error.message}`),
    captureAWSv3Client: (client) => {
      log.push(`capture ${(client as object).constructor.name}`);
      return client;
    },
  };
  return { tracer, log, current: () => current };
}

describe('traced handlers', () => {
  it('runs each invocation in an annotated subsegment and restores the facade segment', async () => {
    const t = recordingTracer();
    const facade = t.current();
    const handler = traced(t.tracer, 'ses-events', async (event: { n: number }) => {
      t.log.push('handler');
      return { doubled: event.n * 2 };
    });
    expect(await handler({ n: 21 })).toEqual({ doubled: 42 });
    expect(t.log).toEqual([
      'open ## ses-events',
      'set segment',
      'annotate ColdStart',
      'annotate Service',
      'handler',
      'close ## ses-events',
      'set segment',
    ]);
    expect(t.current()).toBe(facade);
  });

  it('records the error on the subsegment, closes it, and still throws', async () => {
    const t = recordingTracer();
    const handler = traced(t.tracer, 'prepare', async () => {
      throw new Error('SIXBACK_BUCKET is not set');
    });
    await expect(handler(undefined)).rejects.toThrow('SIXBACK_BUCKET is not set');
    expect(t.log).toContain('error SIXBACK_BUCKET is not set');
    expect(t.log.at(-2)).toBe('close ## prepare');
  });

  it('with tracing off touches no segment and passes the event and context through', async () => {
    const t = recordingTracer(false);
    const handler = traced(
      t.tracer,
      'api',
      async (event: string, context?: { id: string }) => `${event}/${context?.id}`,
    );
    expect(await handler('GET /v1/campaigns', { id: 'req-1' })).toBe('GET /v1/campaigns/req-1');
    expect(t.log).toEqual([]);
  });

  it("uses Powertools' Tracer, which is off outside Lambda, and the handler still works", async () => {
    const tracer = new Tracer({ serviceName: 'sixback' });
    expect(process.env.AWS_EXECUTION_ENV).toBeUndefined();
    expect(tracer.isTracingEnabled()).toBe(false);
    const handler = traced(tracer, 'finalise', async (event: { id: string }) => ({ finalised: event.id }));
    expect(await handler({ id: 'c1' })).toEqual({ finalised: 'c1' });
  });
});

describe('traced AWS clients', () => {
  const config = () =>
    configFromEnv({
      AWS_REGION: 'eu-west-1',
      ...STORAGE_ENV,
    });

  it('captures every client createClients builds when a tracer is given', () => {
    const t = recordingTracer();
    createClients(config(), t.tracer);
    expect(t.log.sort()).toEqual(
      ['capture DynamoDBClient', 'capture S3Client', 'capture SESv2Client', 'capture SFNClient'].sort(),
    );
  });

  it('leaves the clients as they are with a tracer that is off', () => {
    const plain = createClients(config());
    const withTracer = createClients(config(), new Tracer({ serviceName: 'sixback' }));
    const middleware = (clients: ReturnType<typeof createClients>) =>
      [clients.s3, clients.ddb, clients.ses, clients.sfn].map((c) => c.middlewareStack.identify().length);
    expect(middleware(withTracer)).toEqual(middleware(plain));
  });
});
