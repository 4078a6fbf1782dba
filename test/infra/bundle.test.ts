/**
 * Every Lambda handler bundles with the stack's esbuild settings (infra/bundling.ts) and the bundle's
 * entry exports `handler`. Bundles are imported by a plain Node process (as Lambda would load them,
 * and without vitest transforming megabytes of minified code). One is called, with an event that needs
 * no AWS call, in the environment Lambda gives a traced function: its X-Ray subsegment must come out.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_FUNCTIONS } from '../../handlers/index.ts';
import { esbuildOptions } from '../../infra/bundling.ts';
import { API_ENTRY, JOBS_ENTRY, SES_EVENTS_ENTRY } from '../../infra/entries.ts';
import { STORAGE_ENV } from '../support/function-env.ts';
import { waitFor } from '../support/guarantees.ts';

const ENTRIES = [
  ...Object.values(TASK_FUNCTIONS).map((fn) => fn.entry),
  API_ENTRY,
  SES_EVENTS_ENTRY,
  JOBS_ENTRY,
];

const outDir = mkdtempSync(join(tmpdir(), 'sixback-bundles-'));
const outfileOf = (entry: string) => join(outDir, entry.replace(/[/.]/g, '-'), 'index.mjs');

const builds = new Map<string, { errors: unknown[]; warnings: unknown[] }>();
let handlerTypes: Record<string, string> = {};

beforeAll(async () => {
  // esbuild runs the builds in parallel in its own process.
  await Promise.all(
    ENTRIES.map(async (entry) => {
      const result = await build(esbuildOptions(entry, outfileOf(entry)));
      builds.set(entry, result);
    }),
  );
  const urls = Object.fromEntries(ENTRIES.map((entry) => [entry, pathToFileURL(outfileOf(entry)).href]));
  const script = `
    const urls = ${JSON.stringify(urls)};
    const types = {};
    for (const [entry, url] of Object.entries(urls)) types[entry] = typeof (await import(url)).handler;
    process.stdout.write(JSON.stringify(types));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1' },
  });
  handlerTypes = JSON.parse(out) as Record<string, string>;
}, 120_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('Lambda bundles', () => {
  it.each(ENTRIES)('%s bundles without errors and its entry exports handler', (entry) => {
    expect(builds.get(entry)?.errors).toEqual([]);
    expect(handlerTypes[entry]).toBe('function');
  });

  it('trace an invocation on Lambda: the bundled SES events handler sends its annotated subsegment to X-Ray', async () => {
    // A stand-in for the X-Ray daemon: the SDK sends each closed subsegment as a UDP datagram, a JSON
    // header line then the segment document.
    const daemon = createSocket('udp4');
    const documents: Record<string, unknown>[] = [];
    daemon.on('message', (message) => {
      const [, body] = message.toString('utf8').split('\n');
      if (body) documents.push(JSON.parse(body) as Record<string, unknown>);
    });
    await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
    const traceId = '1-5759e988-bd862e3fe1be46a994272793';
    try {
      const url = pathToFileURL(outfileOf(SES_EVENTS_ENTRY)).href;
      // A message that is not an SES event: handled (logged, acknowledged) without calling AWS.
      const script = `
        const { handler } = await import(${JSON.stringify(url)});
        const context = {
          awsRequestId: 'req-7f3a',
          functionName: 'sixback-ses-events',
          functionVersion: '$LATEST',
          memoryLimitInMB: '256',
          invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:sixback-ses-events',
        };
        const out = await handler({ Records: [{ eventSource: 'aws:sqs', messageId: 'm1', body: 'junk' }] }, context);
        process.stdout.write('\\nRESULT ' + JSON.stringify(out) + '\\n');
      `;
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          AWS_REGION: 'eu-west-1',
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          ...STORAGE_ENV,
          // What Lambda sets for a traced, on-demand invocation.
          AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
          AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
          LAMBDA_TASK_ROOT: outDir,
          _X_AMZN_TRACE_ID: `Root=${traceId};Parent=53995c3f42cd8ad8;Sampled=1`,
          AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
        },
      });
      // stdout also carries the function's own JSON log lines (Powertools on Lambda), then the result.
      const lines = stdout.split('\n').filter((line) => line.trim() !== '');
      const result = lines.find((line) => line.startsWith('RESULT '));
      expect(JSON.parse((result ?? 'RESULT null').slice('RESULT '.length))).toMatchObject({
        batchItemFailures: [],
        ignored: 1,
      });
      const logs = lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
      expect(logs).toContainEqual(expect.objectContaining({ level: 'INFO', message: 'container started' }));
      // The invocation's lines carry Lambda's request id (Powertools' field), so they can be found together.
      expect(logs).toContainEqual(
        expect.objectContaining({
          message: 'SES events recorded',
          function_request_id: 'req-7f3a',
          function_name: 'sixback-ses-events',
          cold_start: true,
        }),
      );
      const subsegment = await waitFor(
        'the subsegment',
        () => documents.find((d) => d.name === '## ses-events'),
        10_000,
      );
      expect(subsegment).toMatchObject({
        type: 'subsegment',
        trace_id: traceId,
        parent_id: '53995c3f42cd8ad8',
        annotations: { ColdStart: true, Service: 'sixback' },
      });
    } finally {
      daemon.close();
    }
  });
});
