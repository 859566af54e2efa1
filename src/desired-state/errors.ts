/**
 * Errors of the front door. A bad payload is a terminal error (report it, never retry): it carries
 * every problem found, each with the JSON path, a rendering of the value that never shows a secret,
 * and what would be valid, so that the task author can fix them all in one go.
 */

/** One problem with one value of the payload (or of the worker configuration). */
export interface PayloadError {
  /** JSON path relative to the payload, e.g. `services[1].env.LD_PRELOAD`; `payload` for the root. */
  path: string;
  /** The offending value, rendered for people: secrets (env values) elided, long values truncated. */
  value: string;
  /** What is wrong and what would be valid, as a sentence. */
  message: string;
}

/** Rendered in place of a value that may be secret: its presence is useful, its content never shown. */
const ELIDED = '<elided>';

const MAX_RENDERED_CHARS = 60;

/** Truncates long text, saying how long it was, so one huge value cannot flood an error report. */
export function truncate(text: string, max = MAX_RENDERED_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}

/** A short, safe rendering of any value for an error message. */
export function renderValue(value: unknown, options: { secret?: boolean } = {}): string {
  if (options.secret) return ELIDED;
  if (value === undefined) return 'nothing';
  if (typeof value === 'string')
    return value.length <= MAX_RENDERED_CHARS
      ? JSON.stringify(value)
      : `${JSON.stringify(value.slice(0, MAX_RENDERED_CHARS))}… (${value.length} chars)`;
  // JSON.stringify throws on a bigint and gives undefined for a symbol or a function, which the
  // fallback below also shows by type: this only says so first.
  // Stryker disable next-line ConditionalExpression,LogicalOperator,StringLiteral: see above
  if (typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function')
    return typeOf(value);
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch {
    // A cycle, or a toJSON that throws: shown by its type below.
  }
  return json === undefined ? typeOf(value) : truncate(json);
}

/** `null`, `array`, `object`, `string`, … for messages like "must be a string, not a number". */
export function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** `a number`, `an array`, `null`: for "must be a string, not …". */
export function aTypeOf(value: unknown): string {
  const type = typeOf(value);
  if (type === 'null' || type === 'undefined') return type;
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** One line per error: `services[1].env.LD_PRELOAD: … (fix: …)`. */
export function formatPayloadErrors(errors: readonly PayloadError[]): string {
  return errors.map((error) => `${error.path}: ${error.message}`).join('\n');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The payload's `services` cannot be run as written. Terminal: retrying cannot help, and nothing
 * was created. `errors` holds every problem found, not only the first.
 */
export class PayloadValidationError extends Error {
  override readonly name = 'PayloadValidationError';
  constructor(readonly errors: PayloadError[]) {
    super(
      `invalid task payload (${plural(errors.length, 'error')}):\n${indent(formatPayloadErrors(errors))}`,
    );
  }
}

/**
 * The worker's configuration (or a compile context the worker built) is wrong: a deployment or
 * programming error, not the task author's. Same shape as a payload error, paths relative to the
 * configuration.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly errors: PayloadError[],
    what = 'worker configuration',
  ) {
    super(`invalid ${what} (${plural(errors.length, 'error')}):\n${indent(formatPayloadErrors(errors))}`);
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
