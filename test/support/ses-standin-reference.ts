/**
 * The SES stand-in's reading of a SendEmail body as it was before BodyRequest.bodyView (local/http-server.ts
 * and local/ses-standin.ts at f6b4209): the chunks joined by Buffer.concat, and the first recipient as
 * JSON.parse of the Latin-1 text gives it, read again as UTF-8 when it is not plain ASCII. The property test
 * (test/unit/ses-standin.property.test.ts) holds the stand-in to it.
 */
type SendEmailShape = { Destination?: { ToAddresses?: unknown[] } } | null;

export function referenceBody(chunks: readonly Buffer[]): Buffer | undefined {
  if (chunks.length === 0) return undefined;
  if (chunks.length === 1) return chunks[0];
  return Buffer.concat(chunks);
}

export function referenceFirstRecipient(body: Buffer | undefined): string | undefined {
  let to: unknown;
  try {
    to = (JSON.parse(body === undefined ? '' : body.toString('latin1')) as SendEmailShape)?.Destination
      ?.ToAddresses?.[0];
  } catch {
    return undefined;
  }
  if (typeof to !== 'string' || to === '') return undefined;
  if (!/[^ -~]/.test(to)) return to;
  to = (JSON.parse((body as Buffer).toString('utf8')) as SendEmailShape)?.Destination?.ToAddresses?.[0];
  return typeof to === 'string' ? to : undefined;
}

/** What the stand-in answers a SendEmail body with and counts (no faults injected), by the reference. */
export function referenceOutcome(body: Buffer | undefined): { status: 200 | 400; key?: string } {
  const to = referenceFirstRecipient(body);
  if (to === undefined) return { status: 400 };
  return { status: 200, key: to.trim().toLowerCase() };
}
