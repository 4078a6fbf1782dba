import { beforeAll, describe, expect, it } from 'vitest';
import { resolveUnsubscribeSecret } from '../../core/aws/secret.ts';
import type { SuppressionEntry } from '../../core/compliance/suppression.ts';
import { importSuppressionCsv } from '../../core/compliance/suppression-import.ts';
import { RecipientsFileError } from '../../core/errors.ts';

async function* chunks(...parts: (string | Uint8Array)[]) {
  for (const part of parts) yield typeof part === 'string' ? new TextEncoder().encode(part) : part;
}

async function run(...parts: (string | Uint8Array)[]) {
  const batches: SuppressionEntry[][] = [];
  const result = await importSuppressionCsv(chunks(...parts), async (entries) => void batches.push(entries), {
    source: 'import:test.csv',
    at: new Date('2026-11-25T00:00:00Z'),
  });
  return { result, batches };
}

describe('importSuppressionCsv', () => {
  it('reads the email column of a headed file, across chunk boundaries, with a BOM', async () => {
    const { result, batches } = await run(
      '\uFEFFname,Email\nAnn,ann@exa',
      'mple.com\n"Bob, Jr",BOB@example.com\n\nX,bad\n',
    );
    expect(result).toEqual({
      rows: 3,
      added: 2,
      invalid: 1,
      problems: [{ line: 5, problem: '"bad" has no user@domain form' }],
    });
    expect(batches.flat()).toEqual([
      { key: 'ann@example.com', reason: 'manual', source: 'import:test.csv', at: '2026-11-25T00:00:00.000Z' },
      { key: 'bob@example.com', reason: 'manual', source: 'import:test.csv', at: '2026-11-25T00:00:00.000Z' },
    ]);
  });

  it('takes a headerless one-address-per-line file, in batches of 25 with no key twice in a batch', async () => {
    const lines = Array.from({ length: 60 }, (_, i) => `u${i % 50}@example.com`).join('\n');
    const { result, batches } = await run(lines);
    expect(result.rows).toBe(60);
    expect(batches.every((b) => b.length <= 25 && new Set(b.map((e) => e.key)).size === b.length)).toBe(true);
    expect(new Set(batches.flat().map((e) => e.key)).size).toBe(50);
  });

  it('says what to fix when there is no address column, or the file is not UTF-8', async () => {
    await expect(run('name,city\nAnn,Oslo\n')).rejects.toThrow(/Name the address column "email"/);
    await expect(run(new Uint8Array([0x65, 0x6d, 0x61, 0x69, 0x6c, 0x0a, 0xff, 0xfe]))).rejects.toThrow(
      RecipientsFileError,
    );
  });
});

describe('unsubscribe secret on AWS', () => {
  // Credentials for the signing test: the provider chain reads them from the environment.
  beforeAll(() => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIDTEST';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret';
  });

  it('reads a Secrets Manager secret with one SigV4-signed JSON call', async () => {
    const calls: { url: string; headers: Record<string, string>; body: string }[] = [];
    const secret = await resolveUnsubscribeSecret(
      { region: 'eu-west-1', unsubscribeSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:unsub' },
      async (url, init) => {
        calls.push({ url, headers: init.headers, body: init.body });
        return { ok: true, status: 200, text: async () => JSON.stringify({ SecretString: 's'.repeat(48) }) };
      },
    );
    expect(secret).toBe('s'.repeat(48));
    expect(calls[0]?.url).toBe('https://secretsmanager.eu-west-1.amazonaws.com/');
    expect(JSON.parse(calls[0]?.body ?? '')).toEqual({
      SecretId: 'arn:aws:secretsmanager:eu-west-1:1:secret:unsub',
    });
    expect(calls[0]?.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
    expect(calls[0]?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-1\/secretsmanager\/aws4_request/,
    );
  });

  it('reads an SSM SecureString and refuses short secrets and AWS errors with a clear message', async () => {
    const answer = (status: number, body: unknown) => async () => ({
      ok: status < 300,
      status,
      text: async () => JSON.stringify(body),
    });
    const config = { region: 'us-east-1', unsubscribeSecretParameter: '/sixback/unsub' };
    expect(
      await resolveUnsubscribeSecret(config, answer(200, { Parameter: { Value: 'p'.repeat(40) } })),
    ).toBe('p'.repeat(40));
    await expect(
      resolveUnsubscribeSecret(config, answer(200, { Parameter: { Value: 'short' } })),
    ).rejects.toThrow(/shorter than 32/);
    await expect(
      resolveUnsubscribeSecret(config, answer(400, { __type: 'ParameterNotFound' })),
    ).rejects.toThrow(/ParameterNotFound/);
    await expect(resolveUnsubscribeSecret({ region: 'us-east-1' })).rejects.toThrow(
      /SIXBACK_UNSUBSCRIBE_SECRET_ARN/,
    );
  });
});
