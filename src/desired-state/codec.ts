/**
 * io-ts building blocks shared by the payload and configuration codecs. io-ts's own `t.type`
 * strips unknown keys silently and says little about why a value failed; the front door must
 * refuse unknown keys and say, for every failure, what would be valid. So each codec here fails
 * with a message, and `toPayloadErrors` turns io-ts's contexts into JSON paths.
 */
import * as t from 'io-ts';
import { renderValue, type PayloadError } from './errors.js';

/** Codecs whose values (and everything below them) may be secret: their errors never show a value. */
const secretCodecs = new WeakSet<t.Decoder<unknown, unknown>>();

export function markSecret<C extends t.Decoder<unknown, unknown>>(codec: C): C {
  secretCodecs.add(codec);
  return codec;
}

/** A JSON object: not an array, Map, Date or other class instance. */
export function isPlainObject(u: unknown): u is Record<string, unknown> {
  if (typeof u !== 'object' || u === null || Array.isArray(u)) return false;
  const prototype: unknown = Object.getPrototypeOf(u);
  return prototype === Object.prototype || prototype === null;
}

/** Own properties only: a payload key such as `constructor` must never read the prototype's. */
export function own(u: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(u, key) ? u[key] : undefined;
}

/** A failure at `key` below the context `c`, with its message. */
export function failureAt(c: t.Context, key: string, value: unknown, message: string): t.ValidationError {
  return { value, context: t.appendContext(c, key, t.unknown, value), message };
}

export function failureHere(c: t.Context, value: unknown, message: string): t.ValidationError {
  return { value, context: c, message };
}

/** A codec from a check that returns the error messages for `u` (empty when valid). */
export function checked<A>(
  name: string,
  is: (u: unknown) => u is A,
  problems: (u: unknown) => string[],
): t.Type<A, A, unknown> {
  return new t.Type<A, A, unknown>(
    name,
    (u): u is A => is(u) && problems(u).length === 0,
    (u, c) => {
      const found = problems(u);
      return found.length === 0 && is(u) ? t.success(u) : t.failures(found.map((m) => failureHere(c, u, m)));
    },
    t.identity,
  );
}

/** Fills in (a copy of) `fallback` when the value is absent. */
export function withDefault<C extends t.Mixed>(
  codec: C,
  fallback: t.TypeOf<C>,
): t.Type<t.TypeOf<C>, t.OutputOf<C>, unknown> {
  return new t.Type<t.TypeOf<C>, t.OutputOf<C>, unknown>(
    codec.name,
    codec.is,
    (u, c) => (u === undefined ? t.success(structuredClone(fallback)) : codec.validate(u, c)),
    codec.encode,
  );
}

export interface StrictOptions {
  /** "an object with …", completing "must be …". */
  describe: string;
  /** For each required key, what a valid value looks like (used when it is missing). */
  hints: Record<string, string>;
}

/**
 * An object codec that refuses unknown keys (each one reported) and reports every failing field,
 * not only the first. Required keys are checked in declaration order, then optional ones, then
 * unknown keys in input order, so reports read in the order a person wrote the schema.
 */
export function strictStruct<R extends t.Props, O extends t.Props>(
  name: string,
  required: R,
  optional: O,
  options: StrictOptions,
): t.Type<t.TypeOfProps<R> & t.TypeOfPartialProps<O>, unknown, unknown> {
  type A = t.TypeOfProps<R> & t.TypeOfPartialProps<O>;
  const allowed = [...Object.keys(required), ...Object.keys(optional)];
  const decode = (u: unknown, c: t.Context): t.Validation<A> => {
    if (!isPlainObject(u)) return t.failure(u, c, `must be ${options.describe}; got ${renderValue(u)}`);
    const errors: t.ValidationError[] = [];
    const out: Record<string, unknown> = {};
    const field = (key: string, codec: t.Mixed, value: unknown): void => {
      const result = codec.validate(value, t.appendContext(c, key, codec, value));
      if (result._tag === 'Left') errors.push(...result.left);
      else out[key] = result.right;
    };
    for (const [key, codec] of Object.entries(required)) {
      const value = own(u, key);
      // A codec with a default decodes absence; any other required codec is reported as missing.
      if (value === undefined && codec.validate(undefined, c)._tag === 'Left')
        errors.push(
          failureAt(c, key, value, `required field missing (fix: ${options.hints[key] ?? 'set it'})`),
        );
      else field(key, codec, value);
    }
    for (const [key, codec] of Object.entries(optional)) {
      const value = own(u, key);
      if (value !== undefined) field(key, codec, value);
    }
    for (const key of Object.keys(u)) {
      if (!allowed.includes(key))
        errors.push(failureAt(c, key, u[key], `unknown field; allowed: ${allowed.join(', ')}`));
    }
    return errors.length > 0 ? t.failures(errors) : t.success(out as A);
  };
  return new t.Type<A, unknown, unknown>(
    name,
    // Stryker disable next-line all: io-ts's `is`, which no decode and no caller reads
    (u): u is A => decode(u, [{ key: '', type: t.unknown, actual: u }])._tag === 'Right',
    decode,
    t.identity,
  );
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_KEY_CHARS = 64;

/** `services[0].env["A=B"]` from io-ts's context. */
export function contextPath(context: t.Context): string {
  let path = '';
  for (let i = 1; i < context.length; i++) {
    const entry = context[i]!;
    const parent = context[i - 1]!;
    // An intersection's or a union's members are keyed by their index: a step of the codec, not a
    // place in the value.
    if (parent.type instanceof t.IntersectionType || parent.type instanceof t.UnionType) continue;
    // Stryker disable next-line Regex: a key below an array is always one of its indices
    if (Array.isArray(parent.actual) && /^\d+$/.test(entry.key)) path += `[${entry.key}]`;
    else if (IDENTIFIER.test(entry.key) && entry.key.length <= MAX_KEY_CHARS)
      path += path === '' ? entry.key : `.${entry.key}`;
    else {
      const key = entry.key.length <= MAX_KEY_CHARS ? entry.key : `${entry.key.slice(0, MAX_KEY_CHARS)}…`;
      path += `[${JSON.stringify(key)}]`;
    }
  }
  return path;
}

/** io-ts errors to ours: one per failure, secrets elided, in report order. */
export function toPayloadErrors(errors: t.Errors, root: string): PayloadError[] {
  return errors.map((error) => {
    const secret = error.context.some((entry) => secretCodecs.has(entry.type));
    const path = contextPath(error.context);
    return {
      path: path === '' ? root : path,
      value: renderValue(error.value, { secret }),
      message: error.message ?? `invalid value ${renderValue(error.value, { secret })}`,
    };
  });
}
