/**
 * How a refused payload or configuration shows a value: short, never a secret, and whatever the
 * value is (a compile context comes from code, not JSON, so it may hold anything).
 */
import { describe, expect, it } from '@jest/globals';
import {
  ConfigError,
  PayloadValidationError,
  aTypeOf,
  renderValue,
  truncate,
} from '../../src/desired-state/errors.js';

describe('truncate', () => {
  it('keeps text of the limit, and cuts one character more, saying how long it was', () => {
    expect(truncate('abcd', 4)).toBe('abcd');
    expect(truncate('abcde', 4)).toBe('abcd… (5 chars)');
    expect(truncate('x'.repeat(60))).toBe('x'.repeat(60));
    expect(truncate('x'.repeat(61))).toBe(`${'x'.repeat(60)}… (61 chars)`);
  });
});

describe('renderValue', () => {
  it('shows a secret as elided, nothing as nothing, a string quoted and cut at 60 characters', () => {
    expect(renderValue('hunter2', { secret: true })).toBe('<elided>');
    expect(renderValue(undefined)).toBe('nothing');
    expect(renderValue('x'.repeat(60))).toBe(`"${'x'.repeat(60)}"`);
    expect(renderValue('x'.repeat(61))).toBe(`"${'x'.repeat(60)}"… (61 chars)`);
  });

  it('shows JSON, cut at 60 characters', () => {
    expect(renderValue([1, 'a', null])).toBe('[1,"a",null]');
    expect(renderValue({ a: 'x'.repeat(60) })).toBe(`{"a":"${'x'.repeat(54)}… (68 chars)`);
  });

  it('shows what JSON cannot carry by its type: a bigint, a symbol, a function, a cycle', () => {
    expect(renderValue(10n)).toBe('bigint');
    expect(renderValue(Symbol('s'))).toBe('symbol');
    expect(renderValue(() => 1)).toBe('function');
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(renderValue(cycle)).toBe('object');
    expect(renderValue([cycle])).toBe('array');
  });
});

describe('aTypeOf', () => {
  it('says a or an, and neither for null or undefined', () => {
    expect(aTypeOf(5)).toBe('a number');
    expect(aTypeOf([])).toBe('an array');
    expect(aTypeOf({})).toBe('an object');
    expect(aTypeOf(null)).toBe('null');
    expect(aTypeOf(undefined)).toBe('undefined');
  });
});

describe('the thrown errors', () => {
  const errors = [
    { path: 'services[0].name', value: '"DB"', message: 'must be lowercase' },
    { path: 'services[1].image', value: 'nothing', message: 'required field missing' },
  ];

  it('a refused payload names itself and lists every problem, one a line', () => {
    expect(String(new PayloadValidationError(errors))).toBe(
      'PayloadValidationError: invalid task payload (2 errors):\n' +
        '  services[0].name: must be lowercase\n' +
        '  services[1].image: required field missing',
    );
    expect(new PayloadValidationError(errors.slice(0, 1)).message).toMatch(
      /^invalid task payload \(1 error\):/,
    );
  });

  it('a configuration error says what was configured', () => {
    expect(String(new ConfigError(errors.slice(0, 1)))).toBe(
      'ConfigError: invalid worker configuration (1 error):\n  services[0].name: must be lowercase',
    );
    expect(new ConfigError(errors, 'compile context').message).toMatch(
      /^invalid compile context \(2 errors\):/,
    );
  });
});
