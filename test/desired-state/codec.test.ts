/**
 * The io-ts building blocks of the payload and configuration codecs, on codecs of their own: what
 * counts as a JSON object, a required field without a hint, and the JSON paths and messages of
 * the errors people read.
 */
import { describe, expect, it } from '@jest/globals';
import * as t from 'io-ts';
import { isPlainObject, markSecret, strictStruct, toPayloadErrors } from '../../src/desired-state/codec.js';
import type { PayloadError } from '../../src/desired-state/errors.js';

function errorsOf(codec: t.Decoder<unknown, unknown>, value: unknown): PayloadError[] {
  const result = codec.decode(value);
  if (result._tag === 'Right') throw new Error('the value was accepted');
  return toPayloadErrors(result.left, 'payload');
}

const Port = strictStruct('Port', { port: t.number }, {}, { describe: 'an object with port', hints: {} });

describe('isPlainObject', () => {
  it('is true of an object literal and of an object without prototype', () => {
    expect(isPlainObject({ a: 1 })).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
  });

  it('is false of arrays, null, class instances and other values', () => {
    for (const value of [[], null, new Date(0), new Map(), new (class Point {})(), 'x', 1, undefined])
      expect(isPlainObject(value)).toBe(false);
  });
});

describe('strictStruct', () => {
  it('reports a required field that has no hint with a generic fix', () => {
    expect(errorsOf(Port, {})).toEqual([
      { path: 'port', value: 'nothing', message: 'required field missing (fix: set it)' },
    ]);
  });
});

describe('toPayloadErrors', () => {
  it("says 'invalid value' where a codec gives no message, and elides it under a secret codec", () => {
    expect(errorsOf(Port, { port: 'x' })).toEqual([
      { path: 'port', value: '"x"', message: 'invalid value "x"' },
    ]);
    const Login = markSecret(
      strictStruct('Login', { password: t.string }, {}, { describe: 'a login', hints: {} }),
    );
    expect(errorsOf(Login, { password: 5 })).toEqual([
      { path: 'password', value: '<elided>', message: 'invalid value <elided>' },
    ]);
  });

  it('writes identifiers as dotted keys, array items by index and other keys quoted', () => {
    const Item = strictStruct('Item', { n: t.number }, {}, { describe: 'an item', hints: {} });
    const List = strictStruct(
      'List',
      { items: t.array(Item), env: t.record(t.string, t.number) },
      {},
      { describe: 'a list', hints: {} },
    );
    expect(
      errorsOf(List, { items: [{ n: 1 }, { n: 'x' }], env: { '5': 'x', 'A-B': 'x' } }).map((e) => e.path),
    ).toEqual(['items[1].n', 'env["5"]', 'env["A-B"]']);
  });

  it('writes a key of up to 64 characters whole, and cuts a longer one', () => {
    const Env = t.record(t.string, t.number);
    const at = 'k'.repeat(64);
    const over = 'k'.repeat(65);
    expect(errorsOf(Env, { [at]: 'x', [over]: 'x' }).map((e) => e.path)).toEqual([at, `["${at}…"]`]);
    const quotedAt = `-${'k'.repeat(63)}`;
    const quotedOver = `-${'k'.repeat(64)}`;
    expect(errorsOf(Env, { [quotedAt]: 'x', [quotedOver]: 'x' }).map((e) => e.path)).toEqual([
      `["${quotedAt}"]`,
      `["${quotedOver.slice(0, 64)}…"]`,
    ]);
  });

  it("leaves out the member index of a union or an intersection: it is the codec's, not the value's", () => {
    const Named = strictStruct('Named', { name: t.string }, {}, { describe: 'a named thing', hints: {} });
    const Box = strictStruct(
      'Box',
      { inner: t.union([Named, t.number]), both: t.intersection([Named, t.type({ n: t.number })]) },
      {},
      { describe: 'a box', hints: {} },
    );
    // (a strict member of an intersection refuses the other member's fields)
    expect(errorsOf(Box, { inner: { name: 5 }, both: { name: 5, n: 1 } }).map((e) => e.path)).toEqual([
      'inner.name',
      'inner',
      'both.name',
      'both.n',
    ]);
  });
});
