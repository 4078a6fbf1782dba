import { describe, expect, it } from 'vitest';
import { assertHeaderValue } from '../../core/compliance/headers.ts';
import { assertAllowedSender, assertUnsubscribeLink, isAllowedSender } from '../../core/compliance/policy.ts';
import { SenderNotAllowedError, UnsubscribeLinkMissingError, ValidationError } from '../../core/errors.ts';
import { parseWith, TemplateInputSchema } from '../../core/schemas.ts';
import { compileTemplate } from '../../core/templates/render.ts';

describe('campaign policy', () => {
  it('requires {{ unsubscribe_url }} in marketing templates, in the HTML or the text', () => {
    const none = compileTemplate({ subject: 'Hi', html: '<p>Hello {{ name }}</p>' });
    expect(() => assertUnsubscribeLink(none, { templateId: 'promo' })).toThrow(UnsubscribeLinkMissingError);
    expect(() => assertUnsubscribeLink(none, { templateId: 'promo' })).toThrow(/"transactional": true/);
    expect(() => assertUnsubscribeLink(none, { transactional: true })).not.toThrow();
    const inText = compileTemplate({ subject: 'Hi', html: '<p>Hi</p>', text: 'Stop: {{ unsubscribe_url }}' });
    expect(() => assertUnsubscribeLink(inText, {})).not.toThrow();
  });

  it('allows From addresses by exact address or by domain, in any case; an empty list allows all', () => {
    const identities = ['example.com', 'ceo@other.example'];
    expect(isAllowedSender('News@Example.COM', identities)).toBe(true);
    expect(isAllowedSender('ceo@other.example', identities)).toBe(true);
    expect(isAllowedSender('cfo@other.example', identities)).toBe(false);
    // A subdomain is a different identity in SES.
    expect(isAllowedSender('news@mail.example.com', identities)).toBe(false);
    expect(isAllowedSender('anyone@anywhere.example', [])).toBe(true);
    expect(() => assertAllowedSender('x@evil.example', identities)).toThrow(SenderNotAllowedError);
  });

  it('refuses line breaks in subjects when a template is saved, and in header values', () => {
    expect(() =>
      parseWith(TemplateInputSchema, { subject: 'Hi\r\nBcc: x@y.z', html: '<p>x</p>' }, 'template'),
    ).toThrow(/subject must be one line/);
    expect(() => assertHeaderValue('List-Unsubscribe', '<https://x>\r\nBcc: y@z.example')).toThrow(
      ValidationError,
    );
    expect(() => assertHeaderValue('List-Unsubscribe', '<https://x.example/u/t>')).not.toThrow();
  });
});
