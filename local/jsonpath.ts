/**
 * The JSONPath subset the adapter needs to resolve payload templates (`"key.$": "$.a.b"`, `$$.Map.Item.Index`):
 * dotted names and array indexes. Anything else (wildcards, filters, intrinsic functions) is refused loudly
 * rather than evaluated differently from AWS.
 */
import { UnsupportedAslError } from '../core/errors.ts';

type Json = unknown;
type Getter = (input: Json, context: Json) => Json;

const SEGMENT = /^(?:\.([A-Za-z_$][\w$-]*)|\['([^']*)'\]|\[(\d+)\])/;

export function compilePath(path: string): Getter {
  if (path.startsWith('States.'))
    throw new UnsupportedAslError(`Intrinsic functions are not reproduced locally: ${path}`);
  const fromContext = path.startsWith('$$');
  let rest = path.slice(fromContext ? 2 : 1);
  if (!path.startsWith('$')) throw new UnsupportedAslError(`Not a JSONPath: ${path}`);
  const steps: (string | number)[] = [];
  while (rest.length > 0) {
    const match = SEGMENT.exec(rest);
    if (!match)
      throw new UnsupportedAslError(`JSONPath "${path}" uses syntax the local adapter does not reproduce`);
    steps.push(match[3] !== undefined ? Number(match[3]) : ((match[1] ?? match[2]) as string));
    rest = rest.slice(match[0].length);
  }
  return (input, context) => {
    let value: Json = fromContext ? context : input;
    for (const step of steps) {
      if (value === null || typeof value !== 'object' || !(step in (value as object))) {
        throw Object.assign(new Error(`The JSONPath ${path} could not be found in the input`), {
          name: 'States.Runtime',
        });
      }
      value = (value as Record<string | number, Json>)[step];
    }
    return value;
  };
}

/** Compiles a payload template once; applying it per item is then a few property reads. */
export function compileTemplate(template: Json): Getter {
  if (Array.isArray(template)) {
    const parts = template.map(compileTemplate);
    return (input, context) => parts.map((part) => part(input, context));
  }
  if (template === null || typeof template !== 'object') return () => template;
  const entries = Object.entries(template as Record<string, Json>).map(([key, value]): [string, Getter] =>
    key.endsWith('.$') ? [key.slice(0, -2), compilePath(String(value))] : [key, compileTemplate(value)],
  );
  return (input, context) => {
    const out: Record<string, Json> = {};
    for (const [key, get] of entries) out[key] = get(input, context);
    return out;
  };
}

/** A field that may be given literally or through its `...Path` twin. */
export function literalOrPath(
  state: Record<string, unknown>,
  field: string,
  input: Json,
  context: Json,
): unknown | undefined {
  if (state[field] !== undefined) return state[field];
  const path = state[`${field}Path`];
  return path === undefined ? undefined : compilePath(String(path))(input, context);
}
