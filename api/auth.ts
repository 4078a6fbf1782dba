/**
 * Authentication. Locally: a bearer token compared in constant time. On AWS: API Gateway checks IAM
 * (SigV4) before the Lambda runs; the app trusts that, but still refuses a request whose context carries
 * no IAM caller, so a route deployed without IAM authorisation by mistake fails closed instead of open.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ConfigError, UnauthorizedError } from '../core/errors.ts';
import type { ApiAuth, ApiEnv } from './types.ts';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Tokens shorter than this are refused at start-up: a guessable token is no protection. */
export const MIN_TOKEN_LENGTH = 16;

export function assertAuthConfigured(auth: ApiAuth | undefined): asserts auth is ApiAuth {
  if (!auth) throw new ConfigError('The API needs an authentication mode: a bearer token, or aws-iam.');
  if (auth.kind === 'bearer' && auth.token.length < MIN_TOKEN_LENGTH) {
    throw new ConfigError(`The API token must be at least ${MIN_TOKEN_LENGTH} characters long.`);
  }
}

export function authenticate(auth: ApiAuth, isPublic: (path: string) => boolean): MiddlewareHandler<ApiEnv> {
  assertAuthConfigured(auth);
  const expected = auth.kind === 'bearer' ? digest(auth.token) : undefined;
  return async (c, next) => {
    if (c.req.method === 'OPTIONS' || isPublic(c.req.path)) return next();
    if (expected) {
      const header = c.req.header('authorization') ?? '';
      const match = /^Bearer\s+(.+)$/i.exec(header);
      // Hashing first makes the comparison constant-time whatever the lengths.
      if (!match || !timingSafeEqual(digest((match[1] as string).trim()), expected)) {
        throw new UnauthorizedError(
          match
            ? 'The bearer token is wrong. Use the token `sixback dev` printed (also in .sixback/api.json).'
            : 'Missing credentials: send "Authorization: Bearer <token>".',
        );
      }
      c.set('principal', 'local');
      return next();
    }
    const context = c.env?.event?.requestContext;
    const caller =
      context?.authorizer?.iam?.userArn ??
      context?.identity?.userArn ??
      context?.identity?.caller ??
      undefined;
    if (!caller) {
      throw new UnauthorizedError('This request was not authorised with IAM (SigV4) by API Gateway.');
    }
    c.set('principal', caller);
    return next();
  };
}
