/**
 * `sixback doctor`: what stands between this deployment and mail that reaches inboxes. Each check says
 * what it found and, when something is wrong, what to do about it: DKIM on the sending identities, the
 * SES sandbox and quota, the configuration set and its event destination (bounces and complaints reach
 * sixback only through it), DMARC, and sixback's own unsubscribe settings.
 */
import { resolveTxt } from 'node:dns/promises';
import {
  GetAccountCommand,
  type GetAccountCommandOutput,
  GetConfigurationSetCommand,
  GetConfigurationSetEventDestinationsCommand,
  GetEmailIdentityCommand,
  type SESv2Client,
} from '@aws-sdk/client-sesv2';
import type { SixbackConfig } from '../config.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  message: string;
  /** What to do, when the status is not ok. */
  fix?: string;
  /** DNS records to publish, as "name TYPE value" lines. */
  records?: string[];
}

export type DoctorConfig = Pick<
  SixbackConfig,
  | 'region'
  | 'endpoints'
  | 'configurationSet'
  | 'senderIdentities'
  | 'publicBaseUrl'
  | 'unsubscribeSecret'
  | 'unsubscribeSecretArn'
  | 'unsubscribeSecretParameter'
>;

export interface DoctorDeps {
  ses: Pick<SESv2Client, 'send'>;
  config: DoctorConfig;
  /** Identities to check besides config.senderIdentities (addresses or domains). */
  identities?: string[];
  resolveTxt?: (name: string) => Promise<string[][]>;
}

/** Events sixback needs from the configuration set: without these the suppression list never learns. */
export const REQUIRED_EVENT_TYPES = ['BOUNCE', 'COMPLAINT'] as const;
export const RECOMMENDED_EVENT_TYPES = ['DELIVERY', 'REJECT', 'SEND', 'DELIVERY_DELAY'] as const;

const errorName = (error: unknown) => (error as { name?: string })?.name ?? 'Error';
const errorMessage = (error: unknown) => (error instanceof Error ? error.message : String(error));

function configChecks(config: DoctorConfig, local: boolean): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  const base = config.publicBaseUrl;
  if (!base) {
    checks.push({
      name: 'unsubscribe links',
      status: 'fail',
      message: 'No public base URL: emails cannot carry a one-click unsubscribe link.',
      fix: 'Set SIXBACK_PUBLIC_BASE_URL to the address the API answers on (the CDK stack sets it).',
    });
  } else if (!local && !base.startsWith('https://')) {
    checks.push({
      name: 'unsubscribe links',
      status: 'fail',
      message: `Unsubscribe links start with ${base}; Gmail and Yahoo require https for one-click unsubscribe.`,
      fix: 'Serve the API over https and set SIXBACK_PUBLIC_BASE_URL to that address.',
    });
  } else {
    checks.push({ name: 'unsubscribe links', status: 'ok', message: `Links point at ${base}/u/...` });
  }
  const secret = config.unsubscribeSecret
    ? 'inline (local data folder)'
    : config.unsubscribeSecretArn
      ? `Secrets Manager ${config.unsubscribeSecretArn}`
      : config.unsubscribeSecretParameter
        ? `SSM parameter ${config.unsubscribeSecretParameter}`
        : undefined;
  checks.push(
    secret
      ? {
          name: 'unsubscribe secret',
          status: 'ok',
          message: `Tokens are signed with the secret from ${secret}.`,
        }
      : {
          name: 'unsubscribe secret',
          status: 'fail',
          message: 'No secret to sign unsubscribe tokens with.',
          fix: 'Set SIXBACK_UNSUBSCRIBE_SECRET_ARN (Secrets Manager) or SIXBACK_UNSUBSCRIBE_SECRET_PARAMETER (SSM).',
        },
  );
  if (config.senderIdentities.length === 0) {
    checks.push({
      name: 'sender identities',
      status: local ? 'ok' : 'warn',
      message: local
        ? 'Any From address is allowed locally.'
        : 'No sender identities configured: any From address is accepted, and SES refuses unverified ones mid-campaign.',
      ...(local ? {} : { fix: 'Set SIXBACK_SENDER_IDENTITIES to your verified domains or addresses.' }),
    });
  } else {
    checks.push({
      name: 'sender identities',
      status: 'ok',
      message: `Campaigns may send from: ${config.senderIdentities.join(', ')}.`,
    });
  }
  return checks;
}

async function accountChecks(ses: DoctorDeps['ses'], local: boolean): Promise<DoctorCheck[]> {
  let account: GetAccountCommandOutput;
  try {
    account = await ses.send(new GetAccountCommand({}));
  } catch (error) {
    return [
      local
        ? {
            name: 'SES account',
            status: 'warn',
            message: `The local SES did not answer GetAccount (${errorName(error)}: ${errorMessage(error)}), so no quota applies locally.`,
          }
        : {
            name: 'SES account',
            status: 'fail',
            message: `GetAccount failed: ${errorName(error)}: ${errorMessage(error)}`,
            fix: 'Check the AWS credentials and region (AWS_REGION), and that the caller may call ses:GetAccount.',
          },
    ];
  }
  const checks: DoctorCheck[] = [];
  const quota = account.SendQuota ?? {};
  checks.push(
    account.ProductionAccessEnabled
      ? { name: 'SES sandbox', status: 'ok', message: 'Production access: mail can go to any address.' }
      : {
          name: 'SES sandbox',
          status: local ? 'skip' : 'fail',
          message:
            'The account is in the SES sandbox: mail goes only to verified addresses, at most 200 a day and 1 a second.',
          fix: 'Request production access in the SES console (Account dashboard > Request production access).',
        },
  );
  checks.push(
    account.SendingEnabled === false
      ? {
          name: 'sending',
          status: 'fail',
          message: 'Sending is paused for this account in this region.',
          fix: 'Look at the SES console (Reputation metrics) for why, then resume sending when it is fixed.',
        }
      : { name: 'sending', status: 'ok', message: 'Sending is enabled.' },
  );
  if (account.EnforcementStatus && account.EnforcementStatus !== 'HEALTHY') {
    checks.push({
      name: 'reputation',
      status: account.EnforcementStatus === 'SHUTDOWN' ? 'fail' : 'warn',
      message: `SES enforcement status is ${account.EnforcementStatus}.`,
      fix: 'Open the SES Reputation dashboard: bounce or complaint rates are too high. Clean the list before sending more.',
    });
  }
  const remaining = (quota.Max24HourSend ?? 0) - (quota.SentLast24Hours ?? 0);
  checks.push({
    name: 'send quota',
    status: 'ok',
    message: `${quota.MaxSendRate ?? '?'} emails/s, ${quota.Max24HourSend ?? '?'} per 24 h (${remaining} left now).`,
  });
  const reasons = account.SuppressionAttributes?.SuppressedReasons ?? [];
  if (!local && !(reasons.includes('BOUNCE') && reasons.includes('COMPLAINT'))) {
    checks.push({
      name: 'account suppression list',
      status: 'warn',
      message: `SES's own account-level suppression covers ${reasons.length > 0 ? reasons.join(', ') : 'nothing'}.`,
      fix: 'Turn it on for BOUNCE and COMPLAINT as a second net: aws sesv2 put-account-suppression-attributes --suppressed-reasons BOUNCE COMPLAINT',
    });
  }
  return checks;
}

async function dmarcCheck(
  domain: string,
  resolve: NonNullable<DoctorDeps['resolveTxt']>,
): Promise<DoctorCheck> {
  try {
    const records = (await resolve(`_dmarc.${domain}`)).map((parts) => parts.join(''));
    const dmarc = records.find((r) => /^v=DMARC1/i.test(r));
    if (dmarc) return { name: `DMARC ${domain}`, status: 'ok', message: dmarc };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'ENOTFOUND' && code !== 'ENODATA') {
      return {
        name: `DMARC ${domain}`,
        status: 'skip',
        message: `Could not look up _dmarc.${domain}: ${code ?? errorMessage(error)}`,
      };
    }
  }
  return {
    name: `DMARC ${domain}`,
    status: 'fail',
    message: `No DMARC record at _dmarc.${domain}; Gmail and Yahoo require one from bulk senders.`,
    fix: 'Publish at least a monitoring policy, then tighten it once reports look clean.',
    records: [`_dmarc.${domain} TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@${domain}"`],
  };
}

async function identityChecks(
  identity: string,
  deps: DoctorDeps,
  resolve: NonNullable<DoctorDeps['resolveTxt']>,
): Promise<DoctorCheck[]> {
  const domain = identity.includes('@') ? identity.slice(identity.lastIndexOf('@') + 1) : identity;
  const checks: DoctorCheck[] = [];
  // DKIM lives on the domain; an address identity also counts as verified on its own.
  const names = identity.includes('@') ? [domain, identity] : [domain];
  let verified = false;
  for (const name of names) {
    let out: {
      VerifiedForSendingStatus?: boolean;
      DkimAttributes?: { Status?: string; Tokens?: string[]; SigningEnabled?: boolean };
      MailFromAttributes?: { MailFromDomain?: string; MailFromDomainStatus?: string };
    };
    try {
      out = await deps.ses.send(new GetEmailIdentityCommand({ EmailIdentity: name }));
    } catch (error) {
      if (errorName(error) === 'NotFoundException') {
        // A verified domain covers all its addresses; an address can also be verified on its own.
        if ((name === domain && names.length > 1) || verified) continue;
        checks.push({
          name: `identity ${name}`,
          status: 'fail',
          message: `${name} is not an SES identity in ${deps.config.region}.`,
          fix: `Create it: aws sesv2 create-email-identity --email-identity ${domain} (then publish the DKIM records doctor prints).`,
        });
        continue;
      }
      checks.push({
        name: `identity ${name}`,
        status: deps.config.endpoints.ses ? 'skip' : 'fail',
        message: `GetEmailIdentity failed: ${errorName(error)}: ${errorMessage(error)}`,
      });
      continue;
    }
    verified ||= out.VerifiedForSendingStatus === true;
    const dkim = out.DkimAttributes ?? {};
    const records = (dkim.Tokens ?? []).map(
      (token) => `${token}._domainkey.${domain} CNAME ${token}.dkim.amazonses.com`,
    );
    if (name === domain || !names.includes(domain)) {
      checks.push(
        dkim.Status === 'SUCCESS' && dkim.SigningEnabled !== false
          ? { name: `DKIM ${domain}`, status: 'ok', message: 'DKIM verified; mail is signed.' }
          : {
              name: `DKIM ${domain}`,
              status: 'fail',
              message: `DKIM status is ${dkim.Status ?? 'unknown'}${dkim.SigningEnabled === false ? ' and signing is off' : ''}.`,
              fix:
                dkim.Status === 'PENDING'
                  ? 'Publish these CNAME records (DNS can take up to 72 hours); SES checks them on its own.'
                  : 'Publish these CNAME records in the domain DNS, then wait for SES to verify them.',
              ...(records.length > 0 ? { records } : {}),
            },
      );
      const mailFrom = out.MailFromAttributes;
      if (!mailFrom?.MailFromDomain || mailFrom.MailFromDomainStatus !== 'SUCCESS') {
        checks.push({
          name: `MAIL FROM ${domain}`,
          status: 'warn',
          message: mailFrom?.MailFromDomain
            ? `Custom MAIL FROM ${mailFrom.MailFromDomain} is ${mailFrom.MailFromDomainStatus}.`
            : 'No custom MAIL FROM domain: SPF passes for amazonses.com, not aligned with your From domain (DKIM alignment still satisfies DMARC).',
          fix: `Set one, e.g. bounce.${domain}: aws sesv2 put-email-identity-mail-from-attributes --email-identity ${domain} --mail-from-domain bounce.${domain}, then publish its MX and SPF records.`,
        });
      }
    }
  }
  if (!verified && !checks.some((c) => c.status === 'fail' || c.status === 'skip')) {
    checks.push({
      name: `identity ${identity}`,
      status: 'fail',
      message: `${identity} is not verified for sending.`,
      fix: 'Finish verification (DNS records for a domain, the emailed link for an address).',
    });
  }
  checks.push(await dmarcCheck(domain, resolve));
  return checks;
}

async function configurationSetChecks(deps: DoctorDeps): Promise<DoctorCheck[]> {
  const name = deps.config.configurationSet;
  if (!name) {
    return [
      {
        name: 'configuration set',
        status: deps.config.endpoints.ses ? 'skip' : 'fail',
        message:
          'No configuration set: SES publishes no bounce or complaint events, so nothing gets suppressed.',
        fix: 'Set SIXBACK_CONFIGURATION_SET (the CDK stack creates one with an EventBridge destination).',
      },
    ];
  }
  try {
    await deps.ses.send(new GetConfigurationSetCommand({ ConfigurationSetName: name }));
  } catch (error) {
    return [
      {
        name: 'configuration set',
        status: 'fail',
        message: `Configuration set "${name}" cannot be read: ${errorName(error)}: ${errorMessage(error)}`,
        fix: 'Deploy the stack (it creates the set), or fix SIXBACK_CONFIGURATION_SET.',
      },
    ];
  }
  const out = (await deps.ses.send(
    new GetConfigurationSetEventDestinationsCommand({ ConfigurationSetName: name }),
  )) as {
    EventDestinations?: {
      Name?: string;
      Enabled?: boolean;
      MatchingEventTypes?: string[];
      EventBridgeDestination?: { EventBusArn?: string };
      SnsDestination?: { TopicArn?: string };
    }[];
  };
  const destinations = (out.EventDestinations ?? []).filter(
    (d) => d.Enabled !== false && (d.EventBridgeDestination || d.SnsDestination),
  );
  const covered = new Set(destinations.flatMap((d) => d.MatchingEventTypes ?? []));
  const missing = REQUIRED_EVENT_TYPES.filter((t) => !covered.has(t));
  const checks: DoctorCheck[] = [{ name: 'configuration set', status: 'ok', message: `"${name}" exists.` }];
  if (destinations.length === 0 || missing.length > 0) {
    checks.push({
      name: 'event destination',
      status: 'fail',
      message:
        destinations.length === 0
          ? `"${name}" has no enabled EventBridge or SNS event destination.`
          : `No enabled destination receives ${missing.join(', ')} events.`,
      fix: 'Add an EventBridge destination (default bus) for BOUNCE, COMPLAINT, DELIVERY, REJECT; the CDK stack routes them to the ses-events function.',
    });
  } else {
    const extra = RECOMMENDED_EVENT_TYPES.filter((t) => !covered.has(t));
    checks.push({
      name: 'event destination',
      status: extra.length > 0 ? 'warn' : 'ok',
      message: `${destinations.map((d) => d.Name).join(', ')} receive ${[...covered].sort().join(', ')}.`,
      ...(extra.length > 0
        ? { fix: `Also publish ${extra.join(', ')} so rates have an accurate denominator.` }
        : {}),
    });
  }
  return checks;
}

export async function runDoctor(deps: DoctorDeps): Promise<DoctorCheck[]> {
  const local = Boolean(deps.config.endpoints.ses);
  const resolve = deps.resolveTxt ?? resolveTxt;
  const identities = [...new Set([...deps.config.senderIdentities, ...(deps.identities ?? [])])];
  const checks = [...configChecks(deps.config, local), ...(await accountChecks(deps.ses, local))];
  if (local) {
    checks.push({
      name: 'DKIM, DMARC',
      status: 'skip',
      message:
        'The local SES treats every identity as verified and signs nothing; DNS is not checked locally.',
    });
    // The local SES has configuration sets and publishes their events as SES does: check them the same way.
    checks.push(...(await configurationSetChecks(deps)));
    return checks;
  }
  if (identities.length === 0) {
    checks.push({
      name: 'identities',
      status: 'warn',
      message: 'No identity to check.',
      fix: 'Pass --identity example.com, or set SIXBACK_SENDER_IDENTITIES.',
    });
  }
  for (const identity of identities) checks.push(...(await identityChecks(identity, deps, resolve)));
  checks.push(...(await configurationSetChecks(deps)));
  return checks;
}

const MARK: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

export function formatDoctor(checks: DoctorCheck[]): string {
  const lines: string[] = [];
  for (const check of checks) {
    lines.push(`${MARK[check.status]}  ${check.name}: ${check.message}`);
    if (check.fix) lines.push(`      fix: ${check.fix}`);
    for (const record of check.records ?? []) lines.push(`      ${record}`);
  }
  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  lines.push(
    '',
    failed > 0 ? `${failed} problem(s) to fix, ${warned} warning(s).` : `No problems; ${warned} warning(s).`,
  );
  return lines.join('\n');
}
