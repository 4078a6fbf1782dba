/** Header hygiene: a CR or LF in a header value would let data start a new header (header injection). */
import { ValidationError } from '../errors.ts';

export function assertHeaderValue(name: string, value: string): void {
  if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) {
    throw new ValidationError(`The ${name} header contains a line break; headers must be one line.`, {
      details: [{ path: name, problem: 'contains CR or LF' }],
    });
  }
}
