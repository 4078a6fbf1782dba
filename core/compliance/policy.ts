/**
 * What a campaign must satisfy before it starts: marketing mail offers an unsubscribe link (Gmail and
 * Yahoo require it of bulk senders), and mail goes only from the sender identities this deployment owns.
 */
import { SenderNotAllowedError, UnsubscribeLinkMissingError } from '../errors.ts';
import type { CompiledTemplate } from '../templates/render.ts';

export function assertUnsubscribeLink(
  compiled: Pick<CompiledTemplate, 'variables'>,
  options: { transactional?: boolean | undefined; templateId?: string },
): void {
  if (options.transactional) return;
  if (compiled.variables.includes('unsubscribe_url')) return;
  throw new UnsubscribeLinkMissingError(
    `The template${options.templateId ? ` "${options.templateId}"` : ''} has no unsubscribe link. ` +
      'Add one, e.g. <a href="{{ unsubscribe_url }}">Unsubscribe</a>, or mark the campaign ' +
      '"transactional": true if it is not marketing mail (receipts, password resets).',
    { details: { templateId: options.templateId ?? null, variable: 'unsubscribe_url' } },
  );
}

/** True when `from` is one of `identities` (addresses or domains, any case); an empty list allows all. */
export function isAllowedSender(from: string, identities: readonly string[]): boolean {
  if (identities.length === 0) return true;
  const address = from.trim().toLowerCase();
  const domain = address.slice(address.lastIndexOf('@') + 1);
  return identities.some((identity) => {
    const id = identity.trim().toLowerCase();
    return id.includes('@') ? id === address : id === domain;
  });
}

export function assertAllowedSender(from: string, identities: readonly string[]): void {
  if (isAllowedSender(from, identities)) return;
  throw new SenderNotAllowedError(
    `"${from}" is not one of this deployment's sender identities (${identities.join(', ')}). ` +
      'Send from one of them, or verify the address or its domain in SES and add it to SIXBACK_SENDER_IDENTITIES.',
    { details: { from, allowed: [...identities] } },
  );
}
