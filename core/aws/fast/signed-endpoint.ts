/**
 * One AWS service endpoint for sixback's thin clients (the SES v2 transport, the DynamoDB transport): a
 * keep-alive undici pool to its origin and the SigV4 signer, for POSTs to one fixed path.
 */
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { Pool } from 'undici';
import { isCanonicalPath, SigV4Signer } from './sigv4.ts';

export interface SignedEndpointOptions {
  /** The name in messages ("SES") and the signing service ("ses"). */
  label: string;
  service: string;
  region: string;
  url: URL;
  /** The path every request is POSTed to. */
  path: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Most keep-alive connections (null: no limit, the callers bound what is in flight). */
  connections?: number | null | undefined;
  /** Milliseconds to wait for an answer's headers, then for its body. */
  timeoutMs: number;
}

export class SignedEndpoint {
  readonly pool: Pool;
  readonly path: string;
  private readonly host: string;
  private readonly signer: SigV4Signer;

  constructor(options: SignedEndpointOptions) {
    if (!isCanonicalPath(options.path)) {
      throw new Error(
        `The ${options.label} endpoint ${options.url.href} has a path (${options.url.pathname}) the SigV4 signer cannot ` +
          'sign as is: use letters, digits, - . _ ~ and single slashes only, without . or .. segments',
      );
    }
    this.path = options.path;
    this.host = options.url.host;
    this.pool = new Pool(options.url.origin, {
      connections: options.connections ?? null,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 30_000,
    });
    this.signer = new SigV4Signer({
      service: options.service,
      region: options.region,
      credentials: options.credentials,
    });
  }

  /** The headers to send (host included) for this body. */
  sign(headers: Record<string, string>, body: Buffer, date?: Date): Promise<Record<string, string>> {
    return this.signer.sign({ host: this.host, path: this.path, headers, body }, date);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
