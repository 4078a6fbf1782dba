import {
  GetAccountCommand,
  GetConfigurationSetCommand,
  GetConfigurationSetEventDestinationsCommand,
  GetEmailIdentityCommand,
  NotFoundException,
  SESv2Client,
} from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type DoctorConfig, formatDoctor, runDoctor } from '../../core/compliance/doctor.ts';

const ses = new SESv2Client({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const mock = mockClient(ses);

const deployed: DoctorConfig = {
  region: 'eu-west-1',
  endpoints: {},
  configurationSet: 'sixback',
  senderIdentities: ['news@example.com'],
  publicBaseUrl: 'https://mail.example.com',
  unsubscribeSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:x',
};
const dmarcFound = async () => [['v=DMARC1; p=none']];

const byName = (checks: Awaited<ReturnType<typeof runDoctor>>) =>
  Object.fromEntries(checks.map((c) => [c.name, c]));

describe('sixback doctor', () => {
  beforeEach(() => {
    mock.reset();
    mock.on(GetAccountCommand).resolves({
      ProductionAccessEnabled: true,
      SendingEnabled: true,
      EnforcementStatus: 'HEALTHY',
      SendQuota: { Max24HourSend: 50_000, MaxSendRate: 14, SentLast24Hours: 1000 },
      SuppressionAttributes: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
    });
    mock.on(GetEmailIdentityCommand, { EmailIdentity: 'example.com' }).resolves({
      VerifiedForSendingStatus: true,
      DkimAttributes: { Status: 'SUCCESS', SigningEnabled: true, Tokens: ['t1', 't2', 't3'] },
      MailFromAttributes: {
        MailFromDomain: 'bounce.example.com',
        MailFromDomainStatus: 'SUCCESS',
        BehaviorOnMxFailure: 'USE_DEFAULT_VALUE',
      },
    });
    mock
      .on(GetEmailIdentityCommand, { EmailIdentity: 'news@example.com' })
      .rejects(new NotFoundException({ message: 'not found', $metadata: {} }));
    mock.on(GetConfigurationSetCommand).resolves({ ConfigurationSetName: 'sixback' });
    mock.on(GetConfigurationSetEventDestinationsCommand).resolves({
      EventDestinations: [
        {
          Name: 'to-eventbridge',
          Enabled: true,
          MatchingEventTypes: ['BOUNCE', 'COMPLAINT', 'DELIVERY', 'REJECT', 'SEND', 'DELIVERY_DELAY'],
          EventBridgeDestination: { EventBusArn: 'arn:aws:events:eu-west-1:1:event-bus/default' },
        },
      ],
    });
  });

  it('passes a healthy deployment, checking DKIM on the domain of an address identity', async () => {
    const checks = await runDoctor({ ses, config: deployed, resolveTxt: dmarcFound });
    expect(checks.filter((c) => c.status !== 'ok')).toEqual([]);
    expect(byName(checks)['DKIM example.com']?.status).toBe('ok');
    expect(byName(checks)['send quota']?.message).toContain('49000 left');
    expect(formatDoctor(checks)).toContain('No problems');
  });

  it('prints the DKIM records to publish, the sandbox, a missing DMARC record and event types', async () => {
    mock.on(GetAccountCommand).resolves({
      ProductionAccessEnabled: false,
      SendingEnabled: true,
      SendQuota: { Max24HourSend: 200, MaxSendRate: 1, SentLast24Hours: 0 },
    });
    mock.on(GetEmailIdentityCommand, { EmailIdentity: 'example.com' }).resolves({
      VerifiedForSendingStatus: false,
      DkimAttributes: { Status: 'PENDING', SigningEnabled: true, Tokens: ['abc', 'def'] },
    });
    mock.on(GetConfigurationSetEventDestinationsCommand).resolves({
      EventDestinations: [
        {
          Name: 'sns',
          Enabled: true,
          MatchingEventTypes: ['DELIVERY'],
          SnsDestination: { TopicArn: 'arn:x' },
        },
      ],
    });
    const noDmarc = async () => {
      throw Object.assign(new Error('queryTxt ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    const checks = byName(await runDoctor({ ses, config: deployed, resolveTxt: noDmarc }));
    expect(checks['SES sandbox']).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('production access'),
    });
    expect(checks['DKIM example.com']).toMatchObject({
      status: 'fail',
      records: [
        'abc._domainkey.example.com CNAME abc.dkim.amazonses.com',
        'def._domainkey.example.com CNAME def.dkim.amazonses.com',
      ],
    });
    expect(checks['MAIL FROM example.com']?.status).toBe('warn');
    expect(checks['DMARC example.com']).toMatchObject({
      status: 'fail',
      records: [expect.stringContaining('v=DMARC1; p=none')],
    });
    expect(checks['event destination']).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('BOUNCE, COMPLAINT'),
    });
    expect(checks['identity news@example.com']?.status).toBe('fail');
  });

  it('flags missing unsubscribe settings and a missing configuration set', async () => {
    const checks = byName(
      await runDoctor({
        ses,
        config: {
          region: 'eu-west-1',
          endpoints: {},
          senderIdentities: [],
          publicBaseUrl: 'http://mail.example.com',
        },
        identities: ['example.com'],
        resolveTxt: dmarcFound,
      }),
    );
    expect(checks['unsubscribe links']).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('https'),
    });
    expect(checks['unsubscribe secret']?.status).toBe('fail');
    expect(checks['sender identities']?.status).toBe('warn');
    expect(checks['configuration set']).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('SIXBACK_CONFIGURATION_SET'),
    });
  });

  it('locally checks the configuration, the account and the configuration set, and skips DKIM and DMARC', async () => {
    const checks = await runDoctor({
      ses,
      config: {
        ...deployed,
        endpoints: { ses: 'http://127.0.0.1:1' },
        publicBaseUrl: 'http://localhost:8787',
        senderIdentities: [],
      },
    });
    expect(checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(mock.commandCalls(GetEmailIdentityCommand)).toHaveLength(0);
    expect(checks.find((c) => c.name === 'DKIM, DMARC')?.status).toBe('skip');
    // The local SES has configuration sets with event destinations, so those are checked as on AWS.
    expect(checks.find((c) => c.name === 'configuration set')?.status).toBe('ok');
  });
});
