/**
 * Operational logs: one Powertools Logger, built once in core/app.ts from the configuration and handed to
 * the core through its deps objects (never imported as a global), so a test can read exactly what a
 * deployed function would print. JSON lines on Lambda (Powertools' own format, which CloudWatch Logs
 * Insights reads as fields); one readable line per entry locally.
 *
 * Recipients' addresses never reach a log line by default: every string the logger prints (the message,
 * every attribute at any depth, attribute names, an error's message, stack and causes) goes through one
 * JSON replacer that hashes (or redacts) anything shaped like an address, and hashes known recipient
 * fields whatever they hold. It is the mechanism, not a habit of call sites: a line written tomorrow by
 * someone who forgot is covered too. The hash is keyed (HMAC-SHA256) with a per-deployment key
 * (`PseudonymKey`), so a list of candidate addresses does not turn the pseudonyms back into addresses.
 */
import { createHmac } from 'node:crypto';
import { type LogItem, Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { CampaignStoppedError } from './errors.ts';

export type LogAttributes = Record<string, unknown>;

/** What the core logs through: the four levels, each a message and its attributes. */
export interface Logger {
  debug(message: string, attributes?: LogAttributes): void;
  info(message: string, attributes?: LogAttributes): void;
  warn(message: string, attributes?: LogAttributes): void;
  error(message: string, attributes?: LogAttributes): void;
  /**
   * On Lambda, once per invocation: the invocation's request id, function name, version, memory and cold
   * start join every later line (Powertools' own fields), so one invocation's lines can be found together.
   */
  addContext?(context: LambdaContext): void;
}

/** The Lambda context object as Powertools reads it. */
export type LambdaContext = Parameters<PowertoolsLogger['addContext']>[0];

/** For deps built without a logger (unit tests of one module, benchmarks): prints nothing. */
export const SILENT_LOGGER: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];
/** How recipients' addresses appear in logs: a short hash (default), a fixed placeholder, or as they are. */
export const RECIPIENT_LOG_MODES = ['hash', 'redact', 'plain'] as const;
export type RecipientLogMode = (typeof RECIPIENT_LOG_MODES)[number];
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  /** Unset: Powertools decides (Lambda's log level control, POWERTOOLS_LOG_LEVEL, LOG_LEVEL, else INFO). */
  level?: LogLevelName | undefined;
  format?: LogFormat | undefined;
  recipients?: RecipientLogMode | undefined;
  serviceName?: string | undefined;
  /**
   * The key of the `hash` pseudonyms (a string: the key itself). Until it is known, `hash` prints
   * addresses redacted, never hashed without a key.
   */
  recipientKey?: PseudonymKey | string | undefined;
  /**
   * Where each finished line goes instead of the process's output (tests read the lines here). By default
   * JSON goes where Powertools writes it (stdout, stderr for warnings and errors) and text to stderr, which
   * keeps the CLI's own output on stdout clean for scripts.
   */
  sink?: ((line: string, level: string) => void) | undefined;
}

/**
 * Anything that looks like an address: a local part (RFC 5322's atom characters, any letter or digit,
 * dots), one or more @, and a domain if any (labels of letters, digits and hyphens, or a bracketed
 * literal). Broader than what sixback accepts on purpose: the invalid addresses a row was refused for
 * (`bob@`, `bob@@example.com`, `bob@example`) are personal data too.
 */
const ADDRESS_SHAPED =
  /[\p{L}\p{N}\p{M}!#$%&'*+/=?^_`{|}~.-]+@+(?:\[[^\]\s]*\]|[\p{L}\p{N}\p{M}-]+(?:\.[\p{L}\p{N}\p{M}-]+)*)?/gu;
/** `footer@3` (a template pinned at a version), `liquidjs@10.30.1`: versions, not addresses. */
const VERSION_PIN = /@v?\d+(?:\.\d+)*$/;
/** `node_modules/@smithy/core` in a stack trace: a folder of a scoped package (no dot after the @). */
const SCOPED_PACKAGE = /\/@+[^.]*$/;
/** Attributes that hold a recipient's address whatever its shape (an invalid one may have no @ at all). */
const RECIPIENT_FIELDS = new Set([
  'email',
  'to',
  'cc',
  'bcc',
  'recipient',
  'recipients',
  'address',
  'destination',
]);

/**
 * The stable pseudonym of an address in logs under one key: the same mailbox (any case, spaces) gives the
 * same one. Keyed, so that whoever reads the logs without the key cannot confirm a guessed address.
 */
export function recipientHash(address: string, key: string | Uint8Array): string {
  return `r_${createHmac('sha256', key).update(address.trim().toLowerCase()).digest('hex').slice(0, 10)}`;
}

const REDACTED = '[address]';

/**
 * The deployment's key of the address pseudonyms. Known when the logger is built (the local stack keeps
 * one per data folder), or set once it is read (a Lambda function reads it from Secrets Manager before
 * its first line: handlers/runtime.ts). Without it an address is redacted: an unkeyed hash of an address
 * is as good as the address to anyone with a list of candidates.
 */
export class PseudonymKey {
  private key: string | undefined;

  constructor(key?: string) {
    if (key) this.set(key);
  }

  set(key: string): void {
    this.key = key;
  }

  get known(): boolean {
    return this.key !== undefined;
  }

  pseudonym(address: string): string {
    return this.key === undefined ? REDACTED : recipientHash(address, this.key);
  }
}

const keyOf = (key: PseudonymKey | string | undefined) =>
  key instanceof PseudonymKey ? key : new PseudonymKey(key);

/** A text with every address in it hashed (with `key`) or redacted. */
export function redactAddresses(
  text: string,
  mode: RecipientLogMode = 'hash',
  key?: PseudonymKey | string,
): string {
  if (mode === 'plain' || !text.includes('@')) return text;
  return replaceAddresses(text, mode, keyOf(key));
}

function replaceAddresses(text: string, mode: RecipientLogMode, key: PseudonymKey): string {
  if (!text.includes('@')) return text;
  return text.replace(ADDRESS_SHAPED, (match) => {
    if (VERSION_PIN.test(match) || SCOPED_PACKAGE.test(match)) return match;
    // A quote or dot in front belongs to the sentence around the address, not to it.
    const address = match.replace(/^['`.]+/, '');
    const kept = match.slice(0, match.length - address.length);
    return kept + (mode === 'hash' ? key.pseudonym(address) : REDACTED);
  });
}

/**
 * The JSON replacer Powertools applies to every key and value it prints (before its own handling of
 * errors, whose formatted name, message, stack and causes come back through here as strings).
 */
export function recipientReplacer(
  mode: RecipientLogMode,
  recipientKey?: PseudonymKey | string,
): (key: string, value: unknown) => unknown {
  if (mode === 'plain') return (_key, value) => value;
  const pseudonyms = keyOf(recipientKey);
  const whole = (value: string) => (mode === 'hash' ? pseudonyms.pseudonym(value) : REDACTED);
  return (key, value) => {
    if (typeof value === 'string') {
      return RECIPIENT_FIELDS.has(key) && value !== ''
        ? whole(value)
        : replaceAddresses(value, mode, pseudonyms);
    }
    if (RECIPIENT_FIELDS.has(key) && Array.isArray(value))
      return value.map((v) => (typeof v === 'string' && v !== '' ? whole(v) : v));
    // Attribute names are printed too (a count per address, say): rename the ones that are addresses.
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Error)) {
      const proto = Object.getPrototypeOf(value);
      if ((proto === Object.prototype || proto === null) && Object.keys(value).some((k) => k.includes('@'))) {
        const renamed: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) renamed[replaceAddresses(k, mode, pseudonyms)] = v;
        return renamed;
      }
    }
    return value;
  };
}

/**
 * Powertools' Logger with the destination and the local text format added: Powertools prints every log
 * item as JSON to its console, and a custom log formatter can shape the item but not make it a line of
 * text, so the printing step (printLog, which Powertools leaves protected for subclasses) is where the
 * line is finished. The JSON is always made first, with the redacting replacer, so both formats print
 * exactly what was redacted.
 */
class SixbackLogger extends PowertoolsLogger {
  // Plain fields, read with `?.`: Powertools may print (buffered warnings) from inside its constructor.
  private format?: LogFormat;
  private sink?: ((line: string, level: string) => void) | undefined;

  static create(options: LoggerOptions): SixbackLogger {
    const logger = new SixbackLogger({
      // Powertools' own variable when a deployment sets it (Metrics and Tracer read it too), else sixback.
      serviceName: options.serviceName ?? (process.env.POWERTOOLS_SERVICE_NAME || 'sixback'),
      ...(options.level ? { logLevel: options.level } : {}),
      jsonReplacerFn: recipientReplacer(options.recipients ?? 'hash', options.recipientKey),
    });
    logger.format = options.format ?? 'json';
    logger.sink = options.sink;
    return logger;
  }

  protected override printLog(logLevel: number, log: LogItem): void {
    if (this.format !== 'text' && !this.sink) {
      super.printLog(logLevel, log);
      return;
    }
    log.prepareForPrint();
    const json = JSON.stringify(log.getAttributes(), this.getJsonReplacer());
    const level = String((log.getAttributes() as { level?: unknown }).level ?? 'INFO');
    const line = this.format === 'text' ? textLine(JSON.parse(json) as Record<string, unknown>) : json;
    if (this.sink) this.sink(line, level);
    else process.stderr.write(`${line}\n`);
  }
}

/** The keys every Powertools item has; the text line shows them in its own way or not at all. */
const BASE_KEYS = new Set(['level', 'message', 'timestamp', 'service', 'sampling_rate', 'xray_trace_id']);

/** `12:00:01.234 INFO  SendBatch: batch sent campaignId=c1 sent=10 error="Name: message <- Cause: ..."` */
function textLine(item: Record<string, unknown>): string {
  const time = typeof item.timestamp === 'string' ? item.timestamp.slice(11, 23) : '';
  const level = String(item.level ?? '').padEnd(5);
  // One entry, one line: a message that holds line breaks shows them escaped.
  let line = `${time} ${level} ${String(item.message ?? '').replace(/\r?\n/g, '\\n')}`;
  for (const [key, value] of Object.entries(item)) {
    if (BASE_KEYS.has(key)) continue;
    line += ` ${key}=${key === 'error' ? JSON.stringify(errorChain(value)) : textValue(value)}`;
  }
  return line;
}

function textValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value);
}

/** An error as Powertools formatted it, in one line: its name and message, then each cause's. */
function errorChain(error: unknown): string {
  const parts: string[] = [];
  let at: unknown = error;
  for (let depth = 0; at !== undefined && at !== null && depth < 8; depth++) {
    if (typeof at !== 'object') {
      parts.push(String(at));
      break;
    }
    const { name, message, cause } = at as { name?: unknown; message?: unknown; cause?: unknown };
    parts.push(`${String(name ?? 'Error')}: ${String(message ?? '')}`);
    at = cause;
  }
  return parts.join(' <- ');
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const logger = SixbackLogger.create(options);
  // Powertools takes the attributes as an optional rest argument: pass them only when there are some.
  return {
    debug: (message, attributes) => (attributes ? logger.debug(message, attributes) : logger.debug(message)),
    info: (message, attributes) => (attributes ? logger.info(message, attributes) : logger.info(message)),
    warn: (message, attributes) => (attributes ? logger.warn(message, attributes) : logger.warn(message)),
    error: (message, attributes) => (attributes ? logger.error(message, attributes) : logger.error(message)),
    addContext: (context) => logger.addContext(context),
  };
}

/**
 * Runs one workflow step and logs one line for it: `<step> done` at INFO with the fields the step filled
 * in and its duration, or `<step> failed` at ERROR with the error (name, message, stack, causes), the
 * fields it had so far and the duration (at WARN when the campaign was stopped: someone asked for that).
 * The error is rethrown unchanged: the state machine decides what happens next.
 */
export async function loggedStep<T>(
  logger: Logger | undefined,
  step: string,
  run: (fields: LogAttributes) => Promise<T>,
): Promise<T> {
  const log = logger ?? SILENT_LOGGER;
  const fields: LogAttributes = {};
  const started = performance.now();
  try {
    const result = await run(fields);
    log.info(`${step} done`, { step, ...fields, durationMs: elapsed(started) });
    return result;
  } catch (error) {
    const attributes = { step, ...fields, durationMs: elapsed(started), error };
    if (error instanceof CampaignStoppedError) log.warn(`${step} failed`, attributes);
    else log.error(`${step} failed`, attributes);
    throw error;
  }
}

export function elapsed(since: number): number {
  return Math.round(performance.now() - since);
}
