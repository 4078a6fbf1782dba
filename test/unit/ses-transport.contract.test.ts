/**
 * The contract between the thin SES transport and the SDK path it replaces: for the same email both send
 * the same request (method, path, content type, host, body byte for byte, a valid SigV4 signature over
 * the same scope), and every SES answer becomes an error classifySendFailure reads identically.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { SesV2Transport, sendEmailBody } from '../../core/aws/fast/ses-transport.ts';
import {
  classifySendFailure,
  type OutgoingEmail,
  SesEmailSender,
  toSendEmailInput,
} from '../../core/sending/email-sender.ts';
import { type SesStandin, type SesStandinOptions, startSesStandin } from '../../local/ses-standin.ts';

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};

const EMAILS: Record<string, OutgoingEmail> = {
  minimal: { from: 'news@sixback.example', to: 'ada@example.com', subject: 'Hi', html: '<p>Hi</p>' },
  full: {
    from: 'Sixback News <news@sixback.example>',
    to: 'grace@example.com',
    replyTo: ['help@sixback.example', 'team@sixback.example'],
    subject: 'Ünïcödé "quotes" \\ back\\slash 🎉',
    html: '<p>Tab\tnewline\n</script> \u2028 \u0001 &amp; é 漢字</p>',
    text: 'Plain\r\ntext',
    headers: [
      { name: 'List-Unsubscribe', value: '<https://mail.example.com/u/abc>' },
      { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
    ],
    tags: [{ name: 'campaign', value: 'c-123' }],
    configurationSet: 'sixback-events',
  },
  emptyLists: {
    from: 'news@sixback.example',
    to: 'alan@example.com',
    replyTo: [],
    subject: 'S',
    html: 'H',
    text: '',
    headers: [],
    tags: [],
  },
};

interface Captured {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** What the SDK puts on the wire, captured by a request handler that answers like SES. */
async function sdkRequest(email: OutgoingEmail, endpoint: string): Promise<Captured> {
  let captured: Captured | undefined;
  const client = new SESv2Client({
    region: 'eu-west-1',
    endpoint,
    credentials,
    maxAttempts: 1,
    requestHandler: {
      handle: async (request: {
        method: string;
        path: string;
        headers: Record<string, string>;
        body: Uint8Array | string;
      }) => {
        captured = {
          method: request.method,
          path: request.path,
          headers: request.headers,
          body: Buffer.from(request.body),
        };
        return {
          response: {
            statusCode: 200,
            headers: { 'content-type': 'application/json' },
            body: Buffer.from('{"MessageId":"m-1"}'),
          },
        };
      },
    } as never,
  });
  await new SesEmailSender(client).send(email);
  if (!captured) throw new Error('the SDK sent nothing');
  return captured;
}

function authorization(headers: Record<string, string>) {
  const match = /^AWS4-HMAC-SHA256 Credential=([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
    headers.authorization ?? '',
  );
  if (!match) throw new Error(`not a SigV4 authorization header: ${headers.authorization}`);
  const [, credential, signedHeaders, signature] = match as unknown as [string, string, string, string];
  return {
    scope: credential.split('/').slice(0, 1).concat(credential.split('/').slice(2)),
    credential,
    signedHeaders: signedHeaders.split(';'),
    signature,
  };
}

describe('SesV2Transport sends the request SESv2Client sends', () => {
  for (const endpoint of ['https://email.eu-west-1.amazonaws.com', 'http://127.0.0.1:4579']) {
    for (const [name, email] of Object.entries(EMAILS)) {
      it(`${name} email to ${endpoint}`, async () => {
        const sdk = await sdkRequest(email, endpoint);
        const transport = new SesV2Transport({ region: 'eu-west-1', endpoint, credentials });
        const ours = await transport.signedRequest(email);
        await transport.close();

        expect(ours.method).toBe(sdk.method);
        expect(ours.path).toBe(sdk.path);
        // The body, byte for byte, and the headers SES reads.
        expect(Buffer.from(ours.body).equals(sdk.body)).toBe(true);
        expect(JSON.parse(ours.body)).toEqual(JSON.parse(sdk.body.toString('utf8')));
        for (const header of ['content-type', 'content-length', 'host', 'x-amz-content-sha256']) {
          expect(ours.headers[header], header).toBe(sdk.headers[header]);
        }
        expect(ours.headers['x-amz-content-sha256']).toBe(
          createHash('sha256').update(sdk.body).digest('hex'),
        );
        expect(ours.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);

        // Same algorithm and credential scope (key, region, service), and the headers SES needs signed.
        const a = authorization(ours.headers);
        const b = authorization(sdk.headers);
        expect(a.scope).toEqual(b.scope);
        expect(a.credential.split('/').slice(2)).toEqual(['eu-west-1', 'ses', 'aws4_request']);
        for (const header of ['content-type', 'host', 'x-amz-content-sha256', 'x-amz-date']) {
          expect(a.signedHeaders).toContain(header);
          expect(b.signedHeaders).toContain(header);
        }

        // And the signature is the one SigV4 gives for exactly these headers and body at that instant.
        const url = new URL(endpoint);
        const { authorization: _auth, ...unsigned } = ours.headers;
        const date = ours.headers['x-amz-date'] as string;
        const signingDate = new Date(
          `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
        );
        const check = await new SignatureV4({
          service: 'ses',
          region: 'eu-west-1',
          credentials,
          sha256: (await import('@aws-crypto/sha256-js')).Sha256,
        }).sign(
          {
            method: 'POST',
            protocol: url.protocol,
            hostname: url.hostname,
            ...(url.port ? { port: Number(url.port) } : {}),
            path: ours.path,
            query: {},
            headers: Object.fromEntries(
              Object.entries(unsigned).filter(([k]) => k !== 'x-amz-date' && k !== 'x-amz-content-sha256'),
            ),
            body: ours.body,
          },
          { signingDate },
        );
        expect(a.signature).toBe(authorization(check.headers as Record<string, string>).signature);
      });
    }
  }

  it('writes the body the SDK writes for any email it is given', () => {
    // sendEmailBody is string building; JSON.stringify of the SDK's input is the reference.
    const email = EMAILS.full as OutgoingEmail;
    expect(JSON.parse(sendEmailBody(email))).toMatchObject({
      FromEmailAddress: email.from,
      Destination: { ToAddresses: [email.to] },
      Content: { Simple: { Subject: { Data: email.subject, Charset: 'UTF-8' } } },
    });
  });
});

describe("the SendEmail body's headers and tags", () => {
  const pair = fc.record({
    name: fc.string({ unit: 'grapheme', maxLength: 12 }),
    value: fc.string({ maxLength: 30 }),
  });
  /** The SDK's input as JSON, the reference for the body (member order aside). */
  const reference = (email: OutgoingEmail) => JSON.parse(JSON.stringify(toSendEmailInput(email)));

  it('match the SDK for generated headers and tags, frozen tags written again for the next email alike', () => {
    fc.assert(
      fc.property(
        fc.array(pair, { maxLength: 3 }),
        fc.array(pair, { maxLength: 3 }),
        fc.array(fc.emailAddress(), { minLength: 1, maxLength: 4 }),
        (headers, tags, recipients) => {
          // One frozen array per variant per batch, as the sender makes it: its JSON may be kept.
          const frozen = Object.freeze(tags.map((t) => Object.freeze({ ...t })));
          for (const to of recipients) {
            const email: OutgoingEmail = {
              from: 'a@b.example',
              to,
              subject: 's',
              html: 'h',
              headers,
              tags: frozen,
            };
            expect(JSON.parse(sendEmailBody(email))).toEqual(reference(email));
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('an array that is not frozen is written as it is now, also after it changed', () => {
    fc.assert(
      fc.property(fc.array(pair, { minLength: 1, maxLength: 3 }), pair, (tags, changed) => {
        const mutable = tags.map((t) => ({ ...t }));
        const email: OutgoingEmail = {
          from: 'a@b.example',
          to: 'c@d.example',
          subject: 's',
          html: 'h',
          tags: mutable,
        };
        expect(JSON.parse(sendEmailBody(email))).toEqual(reference(email));
        // Changed in place (a tag's value, then a tag added): the next body must show it.
        (mutable[0] as { value: string }).value = changed.value;
        expect(JSON.parse(sendEmailBody(email))).toEqual(reference(email));
        mutable.push(changed);
        expect(JSON.parse(sendEmailBody(email))).toEqual(reference(email));
      }),
      { numRuns: 200 },
    );
  });
});

describe('SesV2Transport fails the way SesEmailSender fails', () => {
  let standins: SesStandin[] = [];
  afterEach(async () => {
    await Promise.all(standins.map((s) => s.close()));
    standins = [];
  });

  /** Two fresh stand-ins, one per client, so a rate limit or a pause hits both clients alike. */
  async function both(options: SesStandinOptions, prepare?: (standin: SesStandin) => Promise<void> | void) {
    const errors: unknown[] = [];
    for (const kind of ['sdk', 'transport'] as const) {
      const standin = await startSesStandin(options);
      standins.push(standin);
      const sender =
        kind === 'sdk'
          ? new SesEmailSender(
              new SESv2Client({ region: 'us-east-1', endpoint: standin.url, credentials, maxAttempts: 1 }),
            )
          : new SesV2Transport({ region: 'us-east-1', endpoint: standin.url, credentials });
      await prepare?.(standin);
      const error = await sender.send(EMAILS.full as OutgoingEmail).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (sender instanceof SesV2Transport) await sender.close();
      errors.push(error);
    }
    const [sdk, ours] = errors as [Error & { $metadata?: { httpStatusCode?: number } }, (typeof errors)[0]];
    expect(sdk, 'the SDK call should fail').toBeDefined();
    expect(ours, 'the transport call should fail').toBeDefined();
    const o = ours as Error & { $metadata?: { httpStatusCode?: number }; $fault?: string };
    expect(o.name).toBe(sdk.name);
    expect(o.message).toBe(sdk.message);
    expect(o.$metadata?.httpStatusCode).toBe(sdk.$metadata?.httpStatusCode);
    expect(classifySendFailure(o)).toEqual(classifySendFailure(sdk));
    return classifySendFailure(o);
  }

  it('429 TooManyRequestsException: retry, throttled', async () => {
    const c = await both({ rateLimit: 1, burst: 1 }, async (standin) => {
      // Spend the only token, so the measured call is refused.
      await fetch(`${standin.url}/v2/email/outbound-emails`, {
        method: 'POST',
        body: JSON.stringify({ Destination: { ToAddresses: ['x@example.com'] } }),
      });
    });
    expect(c).toMatchObject({ action: 'retry', throttled: true, code: 'TooManyRequestsException' });
  });

  it('400 MessageRejected: reject', async () => {
    const c = await both({ reject: ['grace@example.com'] });
    expect(c).toMatchObject({ action: 'reject', code: 'MessageRejected' });
  });

  it('500 InternalFailure: retry, not throttled', async () => {
    const c = await both({ transientFailureRate: 1 });
    expect(c).toMatchObject({ action: 'retry', throttled: false });
  });

  it('SendingPausedException and AccountSuspendedException: stop', async () => {
    expect(await both({}, (s) => s.stopSending('SendingPausedException'))).toMatchObject({ action: 'stop' });
    expect(await both({}, (s) => s.stopSending('AccountSuspendedException'))).toMatchObject({
      action: 'stop',
    });
  });

  it('a refused connection: retry, with the same code', async () => {
    const standin = await startSesStandin();
    const url = standin.url;
    await standin.close();
    const sdk = await new SesEmailSender(
      new SESv2Client({ region: 'us-east-1', endpoint: url, credentials, maxAttempts: 1 }),
    )
      .send(EMAILS.minimal as OutgoingEmail)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const transport = new SesV2Transport({ region: 'us-east-1', endpoint: url, credentials });
    const ours = await transport.send(EMAILS.minimal as OutgoingEmail).then(
      () => undefined,
      (e: unknown) => e,
    );
    await transport.close();
    expect(classifySendFailure(ours)).toEqual(classifySendFailure(sdk));
    expect(classifySendFailure(ours)).toMatchObject({
      action: 'retry',
      throttled: false,
      code: 'ECONNREFUSED',
    });
  });

  it('an answer in pieces, with the error type and request id in any case: the same error', async () => {
    // A raw server, so the header names' case and the body's chunking are ours to choose.
    const server = createServer((_req, res) => {
      _req.resume();
      res.writeHead(400, {
        'Content-Type': 'application/json',
        'X-Amzn-RequestId': 'req-123',
        'X-AMZN-ERRORTYPE': 'MessageRejected:http://internal.amazon.com/coral/com.amazonaws.sesv2/',
      });
      res.write('{"message":"Email address is not verified: ');
      setImmediate(() => res.end('grace@example.com"}'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const fail = (sender: { send(e: OutgoingEmail): Promise<unknown> }) =>
        sender.send(EMAILS.full as OutgoingEmail).then(
          () => undefined,
          (e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number; requestId?: string } },
        );
      const sdk = await fail(
        new SesEmailSender(
          new SESv2Client({ region: 'us-east-1', endpoint: url, credentials, maxAttempts: 1 }),
        ),
      );
      const transport = new SesV2Transport({ region: 'us-east-1', endpoint: url, credentials });
      const ours = await fail(transport);
      await transport.close();
      expect(ours?.name).toBe('MessageRejected');
      expect(ours?.name).toBe(sdk?.name);
      expect(ours?.message).toBe('Email address is not verified: grace@example.com');
      expect(ours?.message).toBe(sdk?.message);
      expect(ours?.$metadata?.httpStatusCode).toBe(400);
      expect(ours?.$metadata?.requestId).toBe('req-123');
      expect(ours?.$metadata?.requestId).toBe(sdk?.$metadata?.requestId);
      expect(classifySendFailure(ours)).toEqual(classifySendFailure(sdk));
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('an answer that never comes: the timeout fails the send, which is retried', async () => {
    const server = createServer((req) => req.resume());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const transport = new SesV2Transport({
        region: 'us-east-1',
        endpoint: url,
        credentials,
        timeoutMs: 200,
      });
      const error = await transport.send(EMAILS.minimal as OutgoingEmail).then(
        () => undefined,
        (e: unknown) => e,
      );
      await transport.close();
      expect(classifySendFailure(error)).toMatchObject({
        action: 'retry',
        throttled: false,
        code: 'HeadersTimeoutError',
      });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuses an endpoint whose path it cannot sign as is, saying why', () => {
    expect(
      () => new SesV2Transport({ region: 'us-east-1', endpoint: 'http://127.0.0.1:4579/a%20b', credentials }),
    ).toThrow(/SES endpoint .*path \(\/a%20b\).*cannot sign/);
    // A plain prefix is fine.
    const ok = new SesV2Transport({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:4579/ses/',
      credentials,
    });
    void ok.close();
  });

  it('a success returns the MessageId SES gave', async () => {
    const standin = await startSesStandin();
    standins.push(standin);
    const transport = new SesV2Transport({ region: 'us-east-1', endpoint: standin.url, credentials });
    const { messageId } = await transport.send(EMAILS.full as OutgoingEmail);
    await transport.close();
    expect(messageId).toMatch(/^standin-\d+$/);
    expect(standin.count('grace@example.com')).toBe(1);
  });
});
