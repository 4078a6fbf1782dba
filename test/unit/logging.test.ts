/**
 * The operational logs, read as they are printed: the Powertools logger built by core/logging.ts with a
 * sink in place of stdout, and the lines it hands the sink parsed back. What an operator would see is
 * what is asserted: one line per batch with its counts, one per workflow step, an error with its causes,
 * and never a recipient's address.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { createAppDeps } from '../../core/app.ts';
import { localLogKey, localUnsubscribeSecret, resolveLogKey } from '../../core/aws/secret.ts';
import { MemorySuppressionList } from '../../core/compliance/suppression.ts';
import { parseConfig } from '../../core/config.ts';
import { SesTransientError } from '../../core/errors.ts';
import {
  createLogger,
  type LogFormat,
  type Logger,
  loggedStep,
  PseudonymKey,
  type RecipientLogMode,
  recipientHash,
  redactAddresses,
} from '../../core/logging.ts';
import { packVars, preparedLine } from '../../core/recipients/scanner.ts';
import type { PreparedRow } from '../../core/schemas.ts';
import type { EmailSender, OutgoingEmail } from '../../core/sending/email-sender.ts';
import { MemoryLedger } from '../../core/sending/ledger.ts';
import { LearntRates, type SenderDeps, sendBatch } from '../../core/sending/send-batch.ts';
import { CompiledTemplateCache } from '../../core/templates/render.ts';
import { beginSending } from '../../core/workflow/begin-sending.ts';
import type { WorkflowDeps } from '../../core/workflow/deps.ts';

/** The deployment's log key in these tests (core/logging.ts PseudonymKey). */
const KEY = 'test-log-key-0123456789-abcdefghij-0123';

type Line = Record<string, unknown>;

/** A logger whose lines are kept, raw and (for JSON) parsed. */
function captured(
  options: { format?: LogFormat; recipients?: RecipientLogMode; level?: 'DEBUG' | 'INFO' | 'WARN' } = {},
) {
  const raw: { line: string; level: string }[] = [];
  const logger = createLogger({
    level: options.level ?? 'DEBUG',
    format: options.format ?? 'json',
    recipients: options.recipients ?? 'hash',
    recipientKey: KEY,
    sink: (line, level) => raw.push({ line, level }),
  });
  return {
    logger,
    raw,
    lines: () => raw.map((r) => JSON.parse(r.line) as Line),
  };
}

const TEMPLATE = {
  id: 'plain',
  version: 1,
  subject: 'Hi {{ first_name }}',
  html: '<p>Hi {{ first_name }}</p>',
  variables: ['first_name'],
  createdAt: '2026-11-25T00:00:00.000Z',
};

function batchOf(emails: string[], campaignId = 'c-logs', run = 2) {
  return {
    BatchInput: {
      campaignId,
      run,
      templateId: 'plain',
      templateVersion: 1,
      from: 'news@sixback.example',
      replyTo: [],
      data: {},
      workerRate: 100_000,
    },
    Items: emails.map((email, i) => {
      const row: PreparedRow = {
        row: i + 2,
        state: 'ok',
        email,
        note: '',
        vars: packVars({ email, first_name: `N${i}` }),
      };
      const [r, state, e, note, vars] = preparedLine(row).trim().split(',');
      return { index: 40 + i, row: { row: r, state, email: e, note, vars } };
    }),
  };
}

const sesError = (name: string, status: number, message: string) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

class ScriptedSes implements EmailSender {
  constructor(private readonly answer: (email: OutgoingEmail) => Promise<void> | void) {}
  async send(email: OutgoingEmail) {
    await this.answer(email);
    return { messageId: `m-${email.to}` };
  }
}

function senderDeps(emails: EmailSender, logger: Logger, extra: Partial<SenderDeps> = {}): SenderDeps {
  return {
    emails,
    loadTemplate: async () => TEMPLATE,
    ledger: new MemoryLedger(),
    suppression: new MemorySuppressionList(),
    maxInFlight: 4,
    sleep: async () => undefined,
    random: () => 0,
    templateCache: new CompiledTemplateCache(),
    learntRates: new LearntRates(),
    logger,
    ...extra,
  };
}

describe('SendBatch logs one line per batch', () => {
  it('with the counts, the rate, the throttles and the first failure with its address hashed', async () => {
    const emails = ['ann@example.com', 'Bob.Rejected@example.org', 'cy@example.com', 'dee@example.net'];
    const suppression = new MemorySuppressionList(new Set(['dee@example.net']));
    let throttledOnce = false;
    const ses = new ScriptedSes((email) => {
      if (email.to === 'cy@example.com' && !throttledOnce) {
        throttledOnce = true;
        throw sesError('TooManyRequestsException', 429, 'Maximum sending rate exceeded.');
      }
      if (email.to === 'Bob.Rejected@example.org')
        throw sesError('MessageRejected', 400, `Email address is not verified: ${email.to}`);
    });
    const { logger, raw, lines } = captured({ level: 'INFO' });
    const result = await sendBatch(batchOf(emails), senderDeps(ses, logger, { suppression }));
    expect(result.outcomes.map((o) => o.state)).toEqual(['sent', 'failed', 'sent', 'suppressed']);

    const batchLines = lines().filter((l) => l.step === 'SendBatch');
    expect(batchLines).toHaveLength(1);
    const line = batchLines[0] as Line;
    expect(line).toMatchObject({
      level: 'INFO',
      message: 'SendBatch done',
      service: 'sixback',
      campaignId: 'c-logs',
      run: 2,
      firstRow: 40,
      lastRow: 43,
      rows: 4,
      toSend: 3,
      sent: 2,
      failed: 1,
      suppressed: 1,
      skipped: 1,
      alreadySent: 0,
      throttles: 1,
    });
    expect(line.rate).toBeGreaterThan(0);
    expect(line.targetRate).toBe(100_000);
    expect(line.durationMs).toBeGreaterThanOrEqual(0);
    // The failing row is named by its report row and its address's hash, never the address, even
    // where SES's own message quotes it.
    const failure = line.firstFailure as { row: number; email: string; reason: string };
    expect(failure.row).toBe(3);
    expect(failure.email).toBe(recipientHash('bob.rejected@example.org', KEY));
    expect(failure.reason).toContain(recipientHash('Bob.Rejected@example.org', KEY));
    expect(failure.reason).toMatch(/^MessageRejected: Email address is not verified: r_[0-9a-f]{10}$/);
    for (const { line: text } of raw)
      for (const email of emails) expect(text.toLowerCase()).not.toContain(email.toLowerCase());
  });

  it('a retried batch counts what the ledger already had as skipped, not sent again', async () => {
    const emails = ['a1@example.com', 'a2@example.com'];
    const ledger = new MemoryLedger();
    const ses = new ScriptedSes(() => undefined);
    const quiet = captured({ level: 'INFO' });
    await sendBatch(batchOf(emails), senderDeps(ses, quiet.logger, { ledger }));
    const { logger, lines } = captured({ level: 'INFO' });
    await sendBatch(batchOf(emails), senderDeps(ses, logger, { ledger }));
    expect(lines()).toEqual([
      expect.objectContaining({ message: 'SendBatch done', sent: 0, alreadySent: 2, skipped: 2, toSend: 0 }),
    ]);
  });

  it('a batch that fails logs why, with the cause chain, as a warning when the state machine retries it', async () => {
    const ses = new ScriptedSes(() => {
      throw sesError('ServiceUnavailable', 503, 'SES is having a bad day');
    });
    const { logger, lines } = captured({ level: 'INFO' });
    await expect(
      sendBatch(batchOf(['x@example.com']), senderDeps(ses, logger, { attempts: 2 })),
    ).rejects.toBeInstanceOf(SesTransientError);
    const [line] = lines();
    expect(lines()).toHaveLength(1);
    expect(line).toMatchObject({
      level: 'WARN',
      message: 'SendBatch failed',
      campaignId: 'c-logs',
      run: 2,
      rows: 1,
      sent: 0,
      error: {
        name: 'SesTransientError',
        message: expect.stringContaining('SES kept failing after 2 attempts: ServiceUnavailable'),
      },
    });
  });

  it('an unexpected failure is an ERROR line, its causes chained', async () => {
    const { logger, lines } = captured({ level: 'INFO' });
    const root = new Error('connect ECONNREFUSED 127.0.0.1:8000');
    const deps = senderDeps(new ScriptedSes(() => undefined), logger, {
      loadTemplate: async () => {
        throw new Error('loading template plain@1 failed', { cause: root });
      },
    });
    await expect(sendBatch(batchOf(['y@example.com']), deps)).rejects.toThrow(/template plain@1/);
    expect(lines()).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        message: 'SendBatch failed',
        campaignId: 'c-logs',
        error: expect.objectContaining({
          name: 'Error',
          // A template pinned at a version is not an address: it stays readable.
          message: 'loading template plain@1 failed',
          cause: expect.objectContaining({ message: 'connect ECONNREFUSED 127.0.0.1:8000' }),
        }),
      }),
    ]);
  });
});

describe('workflow steps log one line each', () => {
  const campaign = {
    id: 'c-step',
    status: 'scheduled',
    executions: 3,
    check: { rows: 7 },
  };
  const prepared = {
    campaignId: 'c-step',
    recipients: { bucket: 'b', key: 'k' },
    resultPrefix: 'campaigns/c-step/results',
    plan: {
      rate: 10,
      maxConcurrency: 1,
      batchSize: 5,
      maxInputBytesPerBatch: 1000,
      toleratedFailurePercentage: 0,
    },
    batch: {
      campaignId: 'c-step',
      templateId: 't',
      templateVersion: 1,
      from: 'news@sixback.example',
      replyTo: [],
      data: {},
      workerRate: 10,
      campaignRate: 10,
      configurationSet: '',
      run: 3,
      mode: 'all',
      columns: [],
      partials: {},
      variants: [],
      variant: '',
    },
  };

  it('BeginSending: the campaign, its run, the plan and the duration', async () => {
    const { logger, lines } = captured({ level: 'INFO' });
    const transitions: string[] = [];
    const deps = {
      campaigns: {
        get: async () => campaign,
        transition: async (_id: string, to: string) => {
          transitions.push(to);
        },
      },
      clock: () => new Date('2026-12-01T12:00:00.000Z'),
      logger,
    } as unknown as WorkflowDeps;
    await beginSending(prepared, deps);
    expect(transitions).toEqual(['sending']);
    expect(lines()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'BeginSending done',
        step: 'BeginSending',
        campaignId: 'c-step',
        run: 3,
        rows: 7,
        rate: 10,
        batchSize: 5,
        durationMs: expect.any(Number),
      }),
    ]);
  });

  it('a failing step logs the error name, message and cause chain, then throws it unchanged', async () => {
    const { logger, lines } = captured({ level: 'INFO' });
    const root = Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    const failure = new Error('could not read the campaign', { cause: root });
    const deps = {
      campaigns: {
        get: async () => {
          throw failure;
        },
      },
      clock: () => new Date(),
      logger,
    } as unknown as WorkflowDeps;
    await expect(beginSending(prepared, deps)).rejects.toBe(failure);
    const [line] = lines();
    expect(lines()).toHaveLength(1);
    expect(line).toMatchObject({
      level: 'ERROR',
      message: 'BeginSending failed',
      campaignId: 'c-step',
      error: {
        name: 'Error',
        message: 'could not read the campaign',
        cause: { name: 'TimeoutError', message: 'socket hang up' },
      },
    });
    expect(typeof (line?.error as { stack?: unknown } | undefined)?.stack).toBe('string');
  });

  it('every step goes through the same wrapper: fields filled in before a failure are kept', async () => {
    const { logger, lines } = captured({ level: 'INFO' });
    await expect(
      loggedStep(logger, 'Finalise', async (fields) => {
        fields.campaignId = 'c9';
        fields.run = 1;
        throw new SesTransientError('report upload failed', { cause: new Error('S3 503') });
      }),
    ).rejects.toThrow('report upload failed');
    expect(lines()).toEqual([
      expect.objectContaining({
        message: 'Finalise failed',
        campaignId: 'c9',
        run: 1,
        error: expect.objectContaining({
          name: 'SesTransientError',
          code: 'ses_transient',
          cause: expect.objectContaining({ message: 'S3 503' }),
        }),
      }),
    ]);
  });
});

describe('the logger from createAppDeps', () => {
  const base = {
    bucket: 'sixback-test',
    tables: { templates: 't', campaigns: 'c', ledger: 'l', suppression: 's', analytics: 'a' },
  };

  it('is built once from the configuration and reaches every deps object', () => {
    const raw: string[] = [];
    const app = createAppDeps(parseConfig({ ...base, logLevel: 'INFO', logKey: KEY }), {
      logSink: (line) => raw.push(line),
    });
    expect(app.workflow.logger).toBe(app.logger);
    expect(app.sender.logger).toBe(app.logger);
    app.sender.logger?.info('hello', { email: 'someone@example.com' });
    expect(raw).toHaveLength(1);
    expect(JSON.parse(raw[0] as string)).toMatchObject({
      message: 'hello',
      email: recipientHash('someone@example.com', KEY),
    });
  });

  it('keeps to the configured level', () => {
    const raw: string[] = [];
    const app = createAppDeps(parseConfig({ ...base, logLevel: 'WARN' }), {
      logSink: (line) => raw.push(line),
    });
    app.logger.info('not shown');
    app.logger.warn('shown');
    expect(raw.map((line) => JSON.parse(line).message)).toEqual(['shown']);
  });

  it('prints one readable line of text locally, redacted the same way', () => {
    const raw: string[] = [];
    const app = createAppDeps(parseConfig({ ...base, logLevel: 'INFO', logFormat: 'text', logKey: KEY }), {
      logSink: (line) => raw.push(line),
    });
    app.logger.error('SendBatch failed', {
      campaignId: 'c1',
      sent: 3,
      error: new Error('rejected bob@example.com', { cause: new Error('throttled') }),
    });
    expect(raw).toHaveLength(1);
    const line = raw[0] as string;
    expect(line).not.toContain('\n');
    expect(line).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} ERROR SendBatch failed campaignId=c1 sent=3 error="Error: rejected r_[0-9a-f]{10} <- Error: throttled"$/,
    );
    expect(line).not.toContain('bob@example.com');
  });

  it('refuses a level or mode it does not know, naming the setting', () => {
    expect(() => parseConfig({ ...base, logRecipients: 'maybe' as 'hash' })).toThrow(/logRecipients/);
    expect(() => parseConfig({ ...base, logLevel: 'LOUD' as 'INFO' })).toThrow(/logLevel/);
  });
});

describe('no address survives the logger', () => {
  /** A string with the address inside, as messages and SES errors put it. */
  const around = fc.tuple(
    fc.constantFrom('', 'to ', 'address: ', '<', '"', '(', 'mailto:', 'Rejected ', '\n'),
    fc.constantFrom('', '.', '>', '"', ')', ', and more', ' failed', '\n'),
  );

  it('in the message, attributes at any depth, attribute names, arrays and error messages and causes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.emailAddress(), { minLength: 1, maxLength: 4 }),
        around,
        fc.constantFrom<RecipientLogMode>('hash', 'redact'),
        fc.constantFrom<LogFormat>('json', 'text'),
        fc.constantFrom('debug', 'info', 'warn', 'error') as fc.Arbitrary<
          'debug' | 'info' | 'warn' | 'error'
        >,
        (addresses, [before, after], recipients, format, level) => {
          const { logger, raw } = captured({ format, recipients });
          const [first, ...rest] = addresses as [string, ...string[]];
          const embedded = `${before}${first}${after}`;
          const cause = new Error(`SES said no to ${rest.join(' and ') || first}`);
          logger[level](`sending to ${embedded}`, {
            email: first.toUpperCase(),
            recipients: addresses,
            nested: { deeper: [{ note: embedded }], [first]: 1 },
            reason: embedded,
            error: Object.assign(new Error(`rejected ${embedded}`, { cause }), {
              details: { address: first },
            }),
          });
          expect(raw).toHaveLength(1);
          const text = (raw[0] as { line: string }).line.toLowerCase();
          for (const address of addresses) expect(text).not.toContain(address.toLowerCase());
          if (recipients === 'hash') expect(text).toContain(recipientHash(first, KEY));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('plain leaves addresses as they are (for a deployment that chooses so)', () => {
    const { logger, raw } = captured({ recipients: 'plain' });
    logger.info('sent', { email: 'ann@example.com' });
    expect(raw[0]?.line).toContain('ann@example.com');
  });

  it('hashes the same mailbox to the same pseudonym, whatever its case or spaces', () => {
    fc.assert(
      fc.property(fc.emailAddress(), (address) => {
        expect(recipientHash(` ${address.toUpperCase()} `, KEY)).toBe(recipientHash(address, KEY));
        expect(recipientHash(address, KEY)).toMatch(/^r_[0-9a-f]{10}$/);
        // A leading quote or dot is read as the sentence's, not the address's: it may stay.
        expect(redactAddresses(`x ${address} y`, 'redact')).toMatch(/^x ['`.]*\[address\] y$/);
      }),
    );
  });

  it('leaves what is not an address readable', () => {
    const text =
      'template footer@3 at s3://bucket/key, 12 rows, @mention, liquidjs@10.30.1, at (/app/node_modules/@smithy/core/dist/index.js:12:3)';
    expect(redactAddresses(text)).toBe(text);
  });

  it('also hides the broken addresses a row is refused for', () => {
    for (const broken of ['bob@', 'bob@@example.com', 'bob@example', 'bob.@example.com', 'josé@exämple.com'])
      expect(redactAddresses(`"${broken}" is not valid`, 'hash', KEY), broken).toMatch(
        /^"r_[0-9a-f]{10}" is not valid$/,
      );
  });
});

describe('the pseudonyms are keyed per deployment', () => {
  const unkeyed = (address: string) =>
    `r_${createHash('sha256').update(address.trim().toLowerCase()).digest('hex').slice(0, 10)}`;

  it('cannot be matched against a list of candidate addresses without the key', () => {
    fc.assert(
      fc.property(fc.emailAddress(), fc.string({ minLength: 32, maxLength: 64 }), (address, other) => {
        fc.pre(other !== KEY);
        const pseudonym = recipientHash(address, KEY);
        // What a reader with a candidate list computes: the plain hash, or the hash under another key.
        expect(pseudonym).not.toBe(unkeyed(address));
        expect(pseudonym).not.toBe(recipientHash(address, other));
        // The same deployment gives the same mailbox the same pseudonym, line after line.
        expect(recipientHash(address.toUpperCase(), KEY)).toBe(pseudonym);
      }),
    );
  });

  it('redacts addresses until the key is known, and hashes them with it from then on', () => {
    const raw: string[] = [];
    const key = new PseudonymKey();
    const logger = createLogger({ level: 'INFO', recipientKey: key, sink: (line) => raw.push(line) });
    logger.info('container started', { email: 'ann@example.com', note: 'from bob@example.com' });
    key.set(KEY);
    logger.info('sent', { email: 'ann@example.com' });
    const [before, after] = raw.map((line) => JSON.parse(line) as Line);
    expect(before).toMatchObject({ email: '[address]', note: 'from [address]' });
    expect(raw[0]).not.toMatch(/r_[0-9a-f]{10}/);
    expect(after).toMatchObject({ email: recipientHash('ann@example.com', KEY) });
  });

  it('keeps one key per local data folder, the same after a restart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sixback-logkey-'));
    const key = localLogKey(dir);
    expect(key.length).toBeGreaterThanOrEqual(32);
    expect(localLogKey(dir)).toBe(key);
    expect(localLogKey(mkdtempSync(join(tmpdir(), 'sixback-logkey-')))).not.toBe(key);
    expect(localUnsubscribeSecret(dir)).not.toBe(key);
  });

  it('reads the deployed key from Secrets Manager, and none when none is configured', async () => {
    const calls: string[] = [];
    const fetchImpl = async (_url: string, init: { headers: Record<string, string>; body: string }) => {
      calls.push(`${init.headers['x-amz-target']} ${init.body}`);
      return { ok: true, status: 200, text: async () => JSON.stringify({ SecretString: `${KEY}\n` }) };
    };
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sixback-log-key';
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    await expect(resolveLogKey({ region: 'eu-west-1', logKeyArn: arn }, fetchImpl)).resolves.toBe(KEY);
    vi.unstubAllEnvs();
    expect(calls).toEqual([`secretsmanager.GetSecretValue ${JSON.stringify({ SecretId: arn })}`]);
    await expect(resolveLogKey({ region: 'eu-west-1', logKey: KEY })).resolves.toBe(KEY);
    await expect(resolveLogKey({ region: 'eu-west-1' })).resolves.toBeUndefined();
  });
});
