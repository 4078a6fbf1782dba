/**
 * A fast renderer for the common subset of liquid, compiled once per template part from the parse tree
 * liquidjs already built. liquidjs renders through generators (every value, filter and tag is a generator
 * driven by toValueSync), which costs about as much as the work itself; the subset here is plain closures.
 *
 * The subset mirrors liquidjs 10.x's own evaluation, read from its source (render/expression.ts,
 * render/operator.ts, context/context.ts readProperty, util/underscore.ts stringify, the filters):
 * - raw text, {% raw %}, {% comment %}, {% # inline comment %}
 * - {{ expression | filter ... }} where operands are variable paths (identifiers, .key, ["key"], [0],
 *   [other.path]), string/number literals, true/false/nil/null/empty/blank, and filters are built-in
 *   raw, escape, capitalize, upcase, downcase, strip, lstrip, rstrip, url_encode, default, append, prepend
 *   (with liquidjs's own handlers, checked by identity, so a redefined filter falls back)
 * - {% if %}/{% elsif %}/{% else %} and {% unless %} over ==, !=, <, >, <=, >=, contains, and, or, not
 * - {% case %}/{% when a, b %}/{% else %} (every matching when renders, as in liquidjs)
 * Any other tag makes compileFast return undefined: that part renders with liquidjs. An output outside
 * the subset (another filter such as date or truncate, `"abc".size`) does too, unless the caller gives a
 * `delegate`: then liquidjs renders that output alone, per recipient, and the rest stays here. That is
 * exact because nothing in the subset writes to liquidjs's context (no assign, capture, increment,
 * cycle): an output rendered in a fresh context with the same variables gives what it gives in place.
 *
 * At render time, a value the subset does not model (a Drop, a function, an object with toLiquid, a
 * custom comparable) makes the render function return undefined, and so does any exception: the caller
 * then renders that part with liquidjs, which produces the same output or throws its own error.
 */
import {
  filters as builtinFilters,
  CaseTag,
  CommentTag,
  Drop,
  IfTag,
  InlineCommentTag,
  isFalsy,
  isTruthy,
  Output,
  RawTag,
  type Template,
  type Token,
  TypeGuards,
  UnlessTag,
} from 'liquidjs';

export type FastRender = (variables: Record<string, unknown>) => string | undefined;

/** Renders one parsed output outside the subset with liquidjs (the engine that parsed it). */
export type Delegate = (output: Output) => (env: Record<string, unknown>) => string;

type Env = Record<string, unknown>;
type Eval = (env: Env) => unknown;
type Chunk = (env: Env) => string;

/** Thrown inside the fast renderer when a value is outside the subset; the render returns undefined. */
const BAIL: unique symbol = Symbol('bail');

/** liquidjs's `nil`/`null`, `empty` and `blank` literals: compared as drops, rendered as their valueOf. */
const NIL = { literal: 'nil' };
const EMPTY = { literal: 'empty' };
const BLANK = { literal: 'blank' };

/**
 * Compiles one parsed part. `escapes` says whether the engine escapes outputs (outputEscape 'escape');
 * it is checked against the parse tree (liquidjs appends the escape filter to each output at parse time).
 */
export function compileFast(
  templates: Template[],
  escapes: boolean,
  delegate?: Delegate,
): FastRender | undefined {
  let block: Chunk;
  try {
    block = compileBlock(templates, escapes, delegate);
  } catch {
    // BAIL, or a parse tree shaped unlike what this module reads (another liquidjs version): liquidjs renders.
    return undefined;
  }
  return (variables) => {
    try {
      return block(variables);
    } catch {
      // BAIL or an error (e.g. encodeURIComponent on a lone surrogate): liquidjs decides.
      return undefined;
    }
  };
}

/**
 * The same subset compiled to a program instead of one closure: static text, outputs and branches as
 * data, so a caller can walk it per recipient and keep the pieces apart (core/templates/prepared.ts
 * pre-encodes the static pieces once and derives the text part from them). Each output evaluates to the
 * string the renderer would insert (escaped when the engine escapes); each branch list is tried in order
 * as liquidjs does, the first test that passes choosing its body, else `otherwise`.
 */
export type ProgramNode =
  | string
  | {
      out: (env: Env) => string;
      /** The output's source (`{{ x | upcase }}`): outputs with the same source give the same string for
       * one recipient (the subset's expressions and filters are pure, and nothing in it assigns). */
      source: string;
    }
  | { branches: { test: (env: Env) => boolean; body: Program }[]; otherwise: Program };
export type Program = ProgramNode[];

/** The program of one parsed part, or undefined when it is outside the subset (as compileFast). */
export function compileProgram(
  templates: Template[],
  escapes: boolean,
  delegate?: Delegate,
): Program | undefined {
  try {
    return programBlock(templates, escapes, delegate);
  } catch {
    return undefined;
  }
}

function programBlock(templates: Template[], escapes: boolean, delegate: Delegate | undefined): Program {
  const nodes: Program = [];
  const push = (node: ProgramNode) => {
    if (node === '') return;
    const last = nodes.length - 1;
    if (typeof node === 'string' && typeof nodes[last] === 'string') nodes[last] += node;
    else nodes.push(node);
  };
  for (const tpl of templates) {
    const node = tpl as unknown as { token: Token; str?: unknown; constructor: unknown };
    if (TypeGuards.isHTMLToken(node.token) && typeof node.str === 'string') push(node.str);
    else if (node.constructor === Output) {
      push({
        out: outputOrDelegate(tpl as Output, escapes, delegate),
        source: (tpl as Output).token.getText(),
      });
    } else if (node.constructor === IfTag) {
      const tag = tpl as unknown as IfShape;
      push({
        branches: tag.branches.map(({ value, templates: body }) => ({
          test: compileCondition(value),
          body: programBlock(body, escapes, delegate),
        })),
        otherwise: programBlock(tag.elseTemplates ?? [], escapes, delegate),
      });
    } else if (node.constructor === CaseTag) {
      // Each when is a branch of its own (every matching one renders), then the else when none matched.
      const { matches, none } = compileCase(tpl as unknown as CaseShape);
      const tag = tpl as unknown as CaseShape;
      tag.branches.forEach(({ templates: body }, k) => {
        push({
          branches: [{ test: matches[k] as Test, body: programBlock(body, escapes, delegate) }],
          otherwise: [],
        });
      });
      const otherwise = programBlock(tag.elseTemplates, escapes, delegate);
      if (otherwise.length > 0) push({ branches: [{ test: none, body: otherwise }], otherwise: [] });
    } else if (node.constructor === UnlessTag) {
      const tag = tpl as unknown as UnlessShape;
      push({
        branches: tag.branches.map(({ value, test, templates: body }) => {
          const truthy = compileCondition(value);
          let check: (env: Env) => boolean;
          if (test === isFalsy) check = (env) => !truthy(env);
          else if (test === isTruthy) check = truthy;
          else throw BAIL;
          return { test: check, body: programBlock(body, escapes, delegate) };
        }),
        otherwise: programBlock(tag.elseTemplates, escapes, delegate),
      });
    } else if (node.constructor === RawTag) push((tpl as unknown as { render(): string }).render());
    else if (node.constructor === CommentTag || node.constructor === InlineCommentTag) continue;
    else throw BAIL;
  }
  return nodes;
}

// ---------------------------------------------------------------------------------------------- compile

function compileBlock(templates: Template[], escapes: boolean, delegate: Delegate | undefined): Chunk {
  const chunks: (string | Chunk)[] = [];
  const push = (piece: string | Chunk) => {
    const last = chunks.length - 1;
    if (typeof piece === 'string' && typeof chunks[last] === 'string') chunks[last] += piece;
    else chunks.push(piece);
  };
  for (const tpl of templates) push(compileNode(tpl, escapes, delegate));
  const parts = chunks.filter((c) => c !== '');
  if (parts.length === 0) return () => '';
  if (parts.length === 1) {
    const only = parts[0]!;
    return typeof only === 'string' ? () => only : only;
  }
  return (env) => {
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      out += typeof p === 'string' ? p : p(env);
    }
    return out;
  };
}

function compileNode(tpl: Template, escapes: boolean, delegate: Delegate | undefined): string | Chunk {
  const node = tpl as unknown as { token: Token; str?: unknown; constructor: unknown };
  if (TypeGuards.isHTMLToken(node.token) && typeof node.str === 'string') return node.str;
  if (node.constructor === Output) return outputOrDelegate(tpl as Output, escapes, delegate);
  if (node.constructor === IfTag) return compileIf(tpl as unknown as IfShape, escapes, delegate);
  if (node.constructor === UnlessTag) return compileUnless(tpl as unknown as UnlessShape, escapes, delegate);
  if (node.constructor === CaseTag) return compileCaseBlock(tpl as unknown as CaseShape, escapes, delegate);
  if (node.constructor === RawTag) return (tpl as unknown as { render(): string }).render();
  if (node.constructor === CommentTag || node.constructor === InlineCommentTag) return '';
  throw BAIL;
}

interface FilterShape {
  name: string;
  args: unknown[];
  raw: boolean;
  handler: unknown;
}
interface ValueShape {
  initial: { postfix: Token[] };
  filters: FilterShape[];
}
interface IfShape {
  branches: { value: ValueShape; templates: Template[] }[];
  elseTemplates: Template[] | undefined;
}
interface UnlessShape {
  branches: { value: ValueShape; test: unknown; templates: Template[] }[];
  elseTemplates: Template[];
}
interface CaseShape {
  value: ValueShape;
  branches: { values: Token[]; templates: Template[] }[];
  elseTemplates: Template[];
}
type Test = (env: Env) => boolean;

/** An output in the subset, else (with a delegate) liquidjs rendering that output alone. */
function outputOrDelegate(output: Output, escapes: boolean, delegate: Delegate | undefined): Chunk {
  try {
    return compileOutput(output, escapes);
  } catch (error) {
    if (error !== BAIL || delegate === undefined) throw error;
    return delegate(output);
  }
}

/**
 * CaseTag.render: the target is evaluated once (toValue), each when's values are compared with equals in
 * order and a when renders once if any matches; every matching when renders, the else if none did.
 */
function compileCase(tag: CaseShape): { matches: Test[]; none: Test } {
  const target = compileValue(tag.value.initial.postfix, tag.value.filters);
  const matches = tag.branches.map(({ values }) => {
    const operands = values.map(compileOperand);
    return (env: Env) => {
      const t = toValue(target(env));
      for (let i = 0; i < operands.length; i++) if (equals(t, (operands[i] as Eval)(env))) return true;
      return false;
    };
  });
  return { matches, none: (env) => !matches.some((m) => m(env)) };
}

function compileCaseBlock(tag: CaseShape, escapes: boolean, delegate: Delegate | undefined): Chunk {
  const { matches } = compileCase(tag);
  const bodies = tag.branches.map(({ templates }) => compileBlock(templates, escapes, delegate));
  const otherwise = compileBlock(tag.elseTemplates, escapes, delegate);
  return (env) => {
    let out = '';
    let hit = false;
    for (let k = 0; k < bodies.length; k++) {
      if (!(matches[k] as Test)(env)) continue;
      out += (bodies[k] as Chunk)(env);
      hit = true;
    }
    return hit ? out : otherwise(env);
  };
}

function compileOutput(output: Output, escapes: boolean): Chunk {
  const value = output.value as unknown as ValueShape;
  let filters = value.filters;
  const last = filters[filters.length - 1];
  // liquidjs appends its escape function as a filter named by Object.prototype.toString (see Output).
  const autoEscaped = last !== undefined && last.name === '[object Function]';
  if (autoEscaped) {
    if (!escapes || last.handler !== builtinFilters['escape']) throw BAIL;
    filters = filters.slice(0, -1);
  } else if (escapes && !last?.raw) {
    throw BAIL; // the engine should have appended the escape filter: the tree is not what we expect
  }
  const evaluate = compileValue(value.initial.postfix, filters);
  if (autoEscaped) return (env) => escapeHtml(stringify(evaluate(env)));
  return (env) => stringify(evaluate(env));
}

function compileIf(tag: IfShape, escapes: boolean, delegate: Delegate | undefined): Chunk {
  const branches = tag.branches.map(({ value, templates }) => ({
    test: compileCondition(value),
    render: compileBlock(templates, escapes, delegate),
  }));
  const otherwise = compileBlock(tag.elseTemplates ?? [], escapes, delegate);
  return (env) => {
    for (const branch of branches) if (branch.test(env)) return branch.render(env);
    return otherwise(env);
  };
}

function compileUnless(tag: UnlessShape, escapes: boolean, delegate: Delegate | undefined): Chunk {
  const branches = tag.branches.map(({ value, test, templates }) => {
    const truthy = compileCondition(value);
    let check: (env: Env) => boolean;
    if (test === isFalsy) check = (env) => !truthy(env);
    else if (test === isTruthy) check = truthy;
    else throw BAIL;
    return { check, render: compileBlock(templates, escapes, delegate) };
  });
  const otherwise = compileBlock(tag.elseTemplates, escapes, delegate);
  return (env) => {
    for (const branch of branches) if (branch.check(env)) return branch.render(env);
    return otherwise(env);
  };
}

function compileCondition(value: ValueShape): (env: Env) => boolean {
  const evaluate = compileValue(value.initial.postfix, value.filters);
  return (env) => truthy(evaluate(env));
}

/** An expression (postfix, as liquidjs's Expression holds it) followed by filters. */
function compileValue(postfix: Token[], filters: FilterShape[]): Eval {
  let evaluate = compileExpression(postfix);
  for (const filter of filters) evaluate = compileFilter(filter, evaluate);
  return evaluate;
}

function compileExpression(postfix: Token[]): Eval {
  const stack: Eval[] = [];
  for (const token of postfix) {
    if (!TypeGuards.isOperatorToken(token)) {
      stack.push(compileOperand(token));
      continue;
    }
    const op = token.operator;
    if (op === 'not') {
      const operand = stack.pop();
      if (!operand) throw BAIL;
      stack.push((env) => !truthy(operand(env)));
      continue;
    }
    const right = stack.pop();
    const left = stack.pop();
    if (!left || !right) throw BAIL;
    stack.push(binary(op, left, right));
  }
  if (stack.length !== 1) throw BAIL;
  return stack[0]!;
}

function binary(op: string, left: Eval, right: Eval): Eval {
  switch (op) {
    case '==':
      return (env) => equals(left(env), right(env));
    case '!=':
      return (env) => !equals(left(env), right(env));
    case '<':
      return (env) => compare(left(env), right(env), (l, r) => l < r);
    case '>':
      return (env) => compare(left(env), right(env), (l, r) => l > r);
    case '<=':
      return (env) => compare(left(env), right(env), (l, r) => l <= r);
    case '>=':
      return (env) => compare(left(env), right(env), (l, r) => l >= r);
    case 'contains':
      return (env) => contains(left(env), right(env));
    case 'and':
      return (env) => {
        // liquidjs evaluates both operands before the operator; evaluation has no side effects here.
        const l = left(env);
        const r = right(env);
        return truthy(l) && truthy(r);
      };
    case 'or':
      return (env) => {
        const l = left(env);
        const r = right(env);
        return truthy(l) || truthy(r);
      };
    default:
      throw BAIL;
  }
}

function compileOperand(token: Token): Eval {
  if (TypeGuards.isQuotedToken(token) || TypeGuards.isNumberToken(token)) {
    const content = (token as unknown as { content: unknown }).content;
    return () => content;
  }
  if (TypeGuards.isLiteralToken(token)) {
    const literal = literalOf(token.literal);
    return () => literal;
  }
  if (TypeGuards.isPropertyAccessToken(token)) return compilePath(token);
  throw BAIL;
}

function literalOf(text: string): unknown {
  switch (text) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'nil':
    case 'null':
      return NIL;
    case 'empty':
      return EMPTY;
    case 'blank':
      return BLANK;
    default:
      throw BAIL;
  }
}

type Key = { constant: string | number } | { dynamic: Eval };

function compilePath(token: Token): Eval {
  const access = token as unknown as { variable: Token | undefined; props: Token[] };
  // `"abc".size`, `(1..3)` and the like: rare, leave them to liquidjs.
  if (access.variable !== undefined) throw BAIL;
  const keys: Key[] = access.props.map((prop) => {
    if (TypeGuards.isWordToken(prop) || TypeGuards.isQuotedToken(prop) || TypeGuards.isNumberToken(prop)) {
      return { constant: (prop as unknown as { content: string | number }).content };
    }
    if (TypeGuards.isPropertyAccessToken(prop)) return { dynamic: compilePath(prop) };
    throw BAIL;
  });
  const first = keys[0];
  if (!first || !('constant' in first) || typeof first.constant !== 'string') throw BAIL;
  const root = first.constant;
  const rest = keys.slice(1);
  if (rest.every((k) => 'constant' in k)) {
    const constants = rest.map((k) => (k as { constant: string | number }).constant);
    if (constants.length === 0) return (env) => readRoot(env, root);
    if (constants.length === 1) {
      const key = constants[0]!;
      return (env) => readProperty(readRoot(env, root), key);
    }
    return (env) => {
      let value = readRoot(env, root);
      for (let i = 0; i < constants.length; i++) value = readProperty(value, constants[i]!);
      return value;
    };
  }
  return (env) => {
    // liquidjs evaluates every key before reading.
    const resolved = rest.map((k) => ('constant' in k ? k.constant : toValue(k.dynamic(env))));
    let value = readRoot(env, root);
    for (const key of resolved) value = readProperty(value, key);
    return value;
  };
}

const FILTER_ARITY: Record<string, number> = {
  raw: 0,
  escape: 0,
  capitalize: 0,
  upcase: 0,
  downcase: 0,
  strip: 0,
  lstrip: 0,
  rstrip: 0,
  url_encode: 0,
  default: 1,
  append: 1,
  prepend: 1,
};

function compileFilter(filter: FilterShape, input: Eval): Eval {
  const name = filter.name;
  const arity = hasOwn.call(FILTER_ARITY, name) ? FILTER_ARITY[name] : undefined;
  if (arity === undefined || filter.args.length !== arity) throw BAIL;
  const builtin = builtinFilters[name] as unknown;
  const handler = name === 'raw' ? (builtin as { handler: unknown }).handler : builtin;
  if (filter.handler !== handler || filter.raw !== (name === 'raw')) throw BAIL;
  const args = filter.args.map((arg) => {
    if (Array.isArray(arg)) throw BAIL; // keyword arguments (default: x, allow_false: true)
    return compileOperand(arg as Token);
  });
  switch (name) {
    case 'raw':
      return input;
    case 'escape':
      return (env) => escapeHtml(stringify(input(env)));
    case 'capitalize':
      return (env) => {
        const s = stringify(input(env));
        return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
      };
    case 'upcase':
      return (env) => stringify(input(env)).toUpperCase();
    case 'downcase':
      return (env) => stringify(input(env)).toLowerCase();
    case 'strip':
      return (env) => stringify(input(env)).trim();
    case 'lstrip':
      return (env) => stringify(input(env)).trimStart();
    case 'rstrip':
      return (env) => stringify(input(env)).trimEnd();
    case 'url_encode':
      return (env) => encodeURIComponent(stringify(input(env))).replace(/%20/g, '+');
    case 'default': {
      const fallback = args[0]!;
      return (env) => {
        const value = toValue(input(env));
        const alt = fallback(env);
        if (Array.isArray(value) || typeof value === 'string') return value.length ? value : alt;
        return value === false || value === undefined || value === null ? alt : value;
      };
    }
    case 'append': {
      const arg = args[0]!;
      return (env) => {
        const l = stringify(input(env));
        return l + stringify(arg(env));
      };
    }
    case 'prepend': {
      const arg = args[0]!;
      return (env) => {
        const l = stringify(input(env));
        return stringify(arg(env)) + l;
      };
    }
    default:
      throw BAIL;
  }
}

// ---------------------------------------------------------------------------------------------- runtime

const hasOwn = Object.prototype.hasOwnProperty;
/** liquidjs's default `globals` ({}): where a name that is not in the variables is looked up. */
const GLOBALS: Env = {};

/** Context.findScope + readProperty for the first segment. */
function readRoot(env: Env, key: string): unknown {
  return readProperty(key in env ? env : GLOBALS, key);
}

/** Context.readProperty with ownPropertyOnly (the default). */
function readProperty(obj: unknown, key: unknown): unknown {
  if (obj === null || obj === undefined) return obj;
  if (typeof obj === 'object' || typeof obj === 'function') {
    if (obj instanceof Drop || typeof (obj as { toLiquid?: unknown }).toLiquid === 'function') throw BAIL;
  }
  key = toValue(key);
  if (Array.isArray(obj) && typeof key === 'number') return checked(readArrayElement(obj, key));
  const value = hasOwn.call(obj, key as PropertyKey)
    ? (obj as Record<PropertyKey, unknown>)[key as PropertyKey]
    : undefined;
  if (typeof value === 'function') throw BAIL;
  if (key === 'size') return checked(readSize(obj));
  if (key === 'first') return checked(Array.isArray(obj) ? readArrayElement(obj, 0) : value);
  if (key === 'last') return checked(Array.isArray(obj) ? readArrayElement(obj, -1) : value);
  return checked(value);
}

function readArrayElement(arr: unknown[], index: number): unknown {
  const i = index < 0 ? arr.length + index : index;
  return hasOwn.call(arr, i) ? arr[i] : undefined;
}

function readSize(obj: unknown): unknown {
  const o = obj as Record<string, unknown>;
  if (hasOwn.call(o, 'size') || o['size'] !== undefined) return o['size'];
  if (Array.isArray(obj) || typeof obj === 'string') return obj.length;
  if (typeof obj === 'object') return Object.keys(o).length;
  return undefined;
}

/** Values the subset does not model (drops, functions, objects with toLiquid) go to liquidjs. */
function checked(value: unknown): unknown {
  if (typeof value === 'function') throw BAIL;
  if (typeof value === 'object' && value !== null && value instanceof Drop) throw BAIL;
  return value;
}

/** liquidjs's toValue for the literal drops (and a bail for any other drop). */
function toValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value === NIL) return null;
  if (value === EMPTY || value === BLANK) return '';
  if (value instanceof Drop) throw BAIL;
  return value;
}

function stringify(value: unknown): string {
  value = toValue(value);
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) {
    let out = '';
    for (const item of value) out += stringify(item);
    return out;
  }
  return String(value);
}

function truthy(value: unknown): boolean {
  value = toValue(value);
  return !(value === false || value === undefined || value === null);
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&#34;',
  "'": '&#39;',
};
const NEEDS_ESCAPE = /[&<>"']/;

function escapeHtml(s: string): string {
  return NEEDS_ESCAPE.test(s) ? s.replace(/[&<>"']/g, (c) => ESCAPES[c]!) : s;
}

function isLiteralDrop(value: unknown): boolean {
  return value === NIL || value === EMPTY || value === BLANK;
}

/** A data value that would act as a liquidjs Comparable: not modelled. */
function assertNotComparable(value: unknown): void {
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { equals?: unknown }).equals === 'function'
  ) {
    throw BAIL;
  }
}

function equals(l: unknown, r: unknown): boolean {
  if (isLiteralDrop(l)) return dropEquals(l, r);
  if (isLiteralDrop(r)) return dropEquals(r, l);
  assertNotComparable(l);
  assertNotComparable(r);
  l = toValue(l);
  r = toValue(r);
  if (Array.isArray(l)) {
    if (!Array.isArray(r) || l.length !== r.length) return false;
    for (let i = 0; i < l.length; i++) if (!equals(l[i], r[i])) return false;
    return true;
  }
  return l === r;
}

/** NullDrop.equals, EmptyDrop.equals, BlankDrop.equals. */
function dropEquals(drop: unknown, value: unknown): boolean {
  if (drop === NIL) {
    const v = toValue(value);
    return v === null || v === undefined;
  }
  if (drop === BLANK) {
    if (value === false) return true;
    const v = toValue(value);
    if (v === null || v === undefined) return true;
    if (typeof value === 'string') return /^\s*$/.test(value);
  }
  if (value === EMPTY || value === BLANK) return false;
  const v = toValue(value);
  if (typeof v === 'string' || Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object' && v !== null) return Object.keys(v).length === 0;
  if (typeof v === 'function') throw BAIL;
  return false;
}

/** <, >, <=, >=: a literal drop on either side compares false; otherwise JavaScript's comparison. */
function compare(l: unknown, r: unknown, op: (l: never, r: never) => boolean): boolean {
  if (isLiteralDrop(l) || isLiteralDrop(r)) return false;
  assertNotComparable(l);
  assertNotComparable(r);
  return op(toValue(l) as never, toValue(r) as never);
}

function contains(l: unknown, r: unknown): boolean {
  l = toValue(l);
  if (Array.isArray(l)) {
    for (const item of l) if (equals(item, r)) return true;
    return false;
  }
  const indexOf = (l as { indexOf?: unknown } | null | undefined)?.indexOf;
  if (typeof indexOf === 'function') {
    if (typeof l !== 'string') throw BAIL; // an object's own indexOf: not modelled
    return l.indexOf(toValue(r) as string) > -1;
  }
  return false;
}
