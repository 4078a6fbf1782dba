/**
 * The SES stand-in answers like SES, so the real SESv2Client must turn each of its answers into the
 * exception SES would produce, and classifySendFailure must then decide what SES's answer means.
 */
import { GetAccountCommand, SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { afterEach, describe, expect, it } from 'vitest';
import { classifySendFailure, SesEmailSender, toSendEmailInput } from '../../core/sending/email-sender.ts';
import { type SesStandin, startSesStandin } from '../../local/ses-standin.ts';

let standin: SesStandin | undefined;
afterEach(async () => {
  await standin?.close();
  standin = undefined;
});

function client(url: string) {
  return new SESv2Client({
    region: 'us-east-1',
    endpoint: url,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
}

const email = (to: string) =>
  toSendEmailInput({ from: 'news@sixback.example', to, subject: 'Hi', html: '<p>Hi</p>' });

async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the call should have failed').toBeDefined();
  return error as Error & { $metadata?: { httpStatusCode?: number } };
}

describe('the SES stand-in, through the real SESv2Client', () => {
  it('accepts a message and counts it per recipient, whatever the case', async () => {
    standin = await startSesStandin();
    const ses = client(standin.url);
    const out = await ses.send(new SendEmailCommand(email('Ada@Example.com')));
    expect(out.MessageId).toMatch(/^standin-\d+$/);
    await ses.send(new SendEmailCommand(email('ada@example.com')));
    expect(standin.count('ADA@example.com')).toBe(2);
    expect(standin.stats.accepted).toBe(2);
    const counts = (await (await fetch(`${standin.url}/counts`)).json()) as Record<string, number>;
    expect(counts).toEqual({ 'ada@example.com': 2 });
  });

  it('refuses a body that is not JSON or names no recipient, and reads any recipient as UTF-8', async () => {
    const s = await startSesStandin();
    standin = s;
    const post = (body: string) => fetch(`${s.url}/v2/email/outbound-emails`, { method: 'POST', body });
    for (const bad of [
      '',
      '{"Destination":{"ToAddresses":["a@example.com"]}',
      '{"Destination":{"ToAddresses":["a@example.com"]}}x',
      '{"Destination":{"ToAddresses":[]}}',
      '{"Destination":{"ToAddresses":[""]}}',
      '\ufeff{"Destination":{"ToAddresses":["a@example.com"]}}',
      '{"Html":"a raw \u0001 control char","Destination":{"ToAddresses":["a@example.com"]}}',
      'null',
    ]) {
      const response = await post(bad);
      expect(response.status, bad).toBe(400);
      expect(response.headers.get('x-amzn-errortype'), bad).toBe('BadRequestException');
      expect(await response.json()).toEqual({ message: 'Missing Destination.ToAddresses' });
    }
    // The same address written as raw UTF-8 bytes and as a JSON escape, next to non-ASCII content.
    expect((await post('{"Html":"é 漢字","Destination":{"ToAddresses":["Zoë@example.com"]}}')).status).toBe(
      200,
    );
    expect((await post('{"Destination":{"ToAddresses":["zo\\u00eb@example.com"]}}')).status).toBe(200);
    expect(s.counts()).toEqual(new Map([['zoë@example.com', 2]]));
    expect(s.stats).toMatchObject({ accepted: 2, throttled: 0, transient: 0, rejected: 0, stopped: 0 });
  });

  it('answers 429 TooManyRequestsException above its rate, which the sender retries slower', async () => {
    standin = await startSesStandin({ rateLimit: 1, burst: 1 });
    const ses = client(standin.url);
    await ses.send(new SendEmailCommand(email('a@example.com')));
    const error = await failure(ses.send(new SendEmailCommand(email('b@example.com'))));
    expect(error.name).toBe('TooManyRequestsException');
    expect(error.$metadata?.httpStatusCode).toBe(429);
    expect(classifySendFailure(error)).toMatchObject({
      action: 'retry',
      throttled: true,
      code: 'TooManyRequestsException',
    });
    expect(standin.count('b@example.com')).toBe(0);
    expect(standin.stats.throttled).toBe(1);
  });

  it('answers 400 MessageRejected for a rejected address, which the sender records and moves past', async () => {
    standin = await startSesStandin({ reject: ['Bad@example.com'] });
    const error = await failure(
      new SesEmailSender(client(standin.url)).send({
        from: 'news@sixback.example',
        to: 'bad@example.com',
        subject: 'Hi',
        html: 'x',
      }),
    );
    expect(error.name).toBe('MessageRejected');
    expect(error.message).toContain('not verified');
    expect(classifySendFailure(error)).toMatchObject({ action: 'reject', code: 'MessageRejected' });
  });

  it('answers 500 to a share of calls, which the sender retries without slowing down', async () => {
    standin = await startSesStandin({ transientFailureRate: 1 });
    const error = await failure(client(standin.url).send(new SendEmailCommand(email('a@example.com'))));
    expect(error.$metadata?.httpStatusCode).toBe(500);
    expect(classifySendFailure(error)).toMatchObject({ action: 'retry', throttled: false });
    expect(standin.stats.transient).toBe(1);
  });

  it('answers SendingPausedException and AccountSuspendedException, which stop the campaign', async () => {
    standin = await startSesStandin();
    const ses = client(standin.url);
    standin.stopSending('SendingPausedException');
    const paused = await failure(ses.send(new SendEmailCommand(email('a@example.com'))));
    expect(paused.name).toBe('SendingPausedException');
    expect(classifySendFailure(paused).action).toBe('stop');
    standin.stopSending('AccountSuspendedException');
    const suspended = await failure(ses.send(new SendEmailCommand(email('a@example.com'))));
    expect(suspended.name).toBe('AccountSuspendedException');
    expect(classifySendFailure(suspended).action).toBe('stop');
    standin.resumeSending();
    await ses.send(new SendEmailCommand(email('a@example.com')));
    expect(standin.count('a@example.com')).toBe(1);
  });

  it('answers a refused connection as a network error, which the sender retries', async () => {
    standin = await startSesStandin();
    const url = standin.url;
    await standin.close();
    const error = await failure(client(url).send(new SendEmailCommand(email('a@example.com'))));
    expect(classifySendFailure(error)).toMatchObject({ action: 'retry', throttled: false });
  });

  it('answers GetAccount with its quota, counting what it accepted', async () => {
    standin = await startSesStandin({
      quota: { max24HourSend: 5000, maxSendRate: 40, sentLast24Hours: 100 },
    });
    const ses = client(standin.url);
    await ses.send(new SendEmailCommand(email('a@example.com')));
    const account = await ses.send(new GetAccountCommand({}));
    expect(account.SendQuota).toEqual({ Max24HourSend: 5000, MaxSendRate: 40, SentLast24Hours: 101 });
  });
});
