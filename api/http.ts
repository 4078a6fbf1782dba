/** Request parsing shared by the routes: every body and query goes through a zod schema. */
import type { Context } from 'hono';
import type { z } from 'zod';
import { ValidationError } from '../core/errors.ts';
import { parseWith } from '../core/schemas.ts';
import type { ApiEnv } from './types.ts';

/** Largest JSON body the API reads; a template's HTML and text (400 KB each) fit with room to spare. */
export const MAX_BODY_BYTES = 1024 * 1024;

export async function readBody<T extends z.ZodType>(
  c: Context<ApiEnv>,
  schema: T,
  what: string,
): Promise<z.output<T>> {
  const type = c.req.header('content-type') ?? '';
  const text = await c.req.text();
  let input: unknown = {};
  if (text.trim() !== '') {
    if (!/^application\/(.+\+)?json\b/i.test(type)) {
      throw new ValidationError(`Send the ${what} as JSON (Content-Type: application/json).`, {
        details: [{ path: '(body)', problem: `content type "${type}"` }],
      });
    }
    try {
      input = JSON.parse(text);
    } catch (error) {
      throw new ValidationError(`The ${what} is not valid JSON: ${(error as Error).message}`, {
        details: [{ path: '(body)', problem: 'not JSON' }],
      });
    }
  }
  return parseWith(schema, input, what);
}

export function readQuery<T extends z.ZodType>(c: Context<ApiEnv>, schema: T, what: string): z.output<T> {
  return parseWith(schema, c.req.query(), what);
}

/**
 * One page of a list read with the caller's cursor: a cursor the store cannot decode (not JSON, or a key
 * DynamoDB refuses) is the caller's mistake, a 400, not a 500.
 */
export async function readPage<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof SyntaxError || (error as Error).name === 'ValidationException') {
      throw new ValidationError('The cursor is not one a previous page returned.', {
        details: [{ path: 'cursor', problem: 'unknown cursor' }],
      });
    }
    throw error;
  }
}

export function readParam<T extends z.ZodType>(c: Context<ApiEnv>, name: string, schema: T): z.output<T> {
  return parseWith(schema, c.req.param(name), name);
}
