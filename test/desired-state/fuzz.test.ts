/**
 * The decoder meets arbitrary input: whatever it is given, it either decodes or throws a
 * `PayloadValidationError` whose every error is structured (path, value, message). No other
 * exception escapes.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { PayloadValidationError } from '../../src/desired-state/errors.js';
import { decodeServices } from '../../src/desired-state/payload.js';
import { propertyRuns } from '../support/property-runs.js';
import { testConfig } from './support.js';

const config = testConfig();
const RUNS = propertyRuns(10_000);

const PATH = /^(payload|services(\[\d+\])?(\.[A-Za-z_$][A-Za-z0-9_$]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])*)$/;

let accepted = 0;
let refused = 0;

function decodeOrRefuse(payload: unknown): void {
  let result: unknown;
  let thrown: unknown;
  try {
    result = decodeServices(payload, config);
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) {
    accepted++;
    expect(Array.isArray(result)).toBe(true);
    return;
  }
  if (!(thrown instanceof PayloadValidationError)) throw thrown;
  refused++;
  expect(thrown.errors.length).toBeGreaterThan(0);
  for (const e of thrown.errors) {
    if (typeof e.path !== 'string' || !PATH.test(e.path))
      throw new Error(`unstructured path: ${JSON.stringify(e)}`);
    if (typeof e.value !== 'string' || typeof e.message !== 'string' || e.message === '')
      throw new Error(`unstructured error: ${JSON.stringify(e)}`);
  }
  expect(thrown.message.split('\n')).toHaveLength(thrown.errors.length + 1);
}

/** Keys a service may have, and some it may not, with arbitrary JSON under each. */
const serviceLike = fc.dictionary(
  fc.oneof(
    fc.constantFrom(
      'name',
      'image',
      'command',
      'env',
      'healthCheck',
      'privileged',
      '__proto__',
      'constructor',
    ),
    fc.string({ maxLength: 8 }),
  ),
  fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom('db', 'redis:7', '-v /:/host alpine'),
    fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
    fc.dictionary(
      fc.string({ maxLength: 8 }),
      fc.oneof(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })),
      {
        maxKeys: 4,
      },
    ),
  ),
  { maxKeys: 6 },
);

describe('decoder fuzz', () => {
  it(`survives ${RUNS} arbitrary JSON values as the payload`, () => {
    fc.assert(fc.property(fc.jsonValue(), decodeOrRefuse), { numRuns: RUNS });
  });

  it(`survives ${RUNS} arbitrary values (not only JSON) as the payload`, () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withNullPrototype: true,
          withObjectString: true,
          withSparseArray: true,
          withTypedArray: true,
          withBoxedValues: true,
        }),
        decodeOrRefuse,
      ),
      { numRuns: RUNS },
    );
  });

  it(`survives ${RUNS} payloads whose services are nearly right`, () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(serviceLike, fc.jsonValue({ maxDepth: 2 })), { maxLength: 8 }),
        (services) => decodeOrRefuse(JSON.parse(JSON.stringify({ image: 'x', services }))),
      ),
      { numRuns: RUNS },
    );
  });

  it('accepted some and refused some (the generators reach both sides)', () => {
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(RUNS);
  });
});
