/**
 * A SigV4 signer for API Gateway (`execute-api`) with the standard AWS credential chain: how the CLI and
 * the console's local server call a deployed sixback API. The SDK pieces load on first use only, so
 * commands that talk to the local stack start without them.
 */
import type { SignatureV4 } from '@smithy/signature-v4';

export async function executeApiSigner(region: string): Promise<SignatureV4> {
  const [{ Sha256 }, { fromNodeProviderChain }, { SignatureV4: Signer }] = await Promise.all([
    import('@aws-crypto/sha256-js'),
    import('@aws-sdk/credential-providers'),
    import('@smithy/signature-v4'),
  ]);
  return new Signer({ service: 'execute-api', region, credentials: fromNodeProviderChain(), sha256: Sha256 });
}
