/** The backoff arithmetic behind restarts: doubling, the cap, the budget, and where it is measured from. */
import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import {
  backoffDelayMs,
  decideRestart,
  recordRestart,
  restartKey,
  type RestartPolicy,
} from '../../src/reconciler/restarts.js';

const policy: RestartPolicy = {
  mode: 'restart',
  initialBackoffMs: 1_000,
  maxBackoffMs: 10_000,
  maxRestarts: 5,
};

describe('restart backoff', () => {
  test('doubles from the initial delay and stops at the cap', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffDelayMs(policy, n))).toEqual([
      1_000, 2_000, 4_000, 8_000, 10_000, 10_000,
    ]);
  });

  test('measured from the last restart, else from the exit; due at once when neither is known', () => {
    expect(decideRestart(policy, undefined, 0, 999)).toEqual({ kind: 'backoff', attempt: 1, until: 1_000 });
    expect(decideRestart(policy, undefined, 0, 1_000)).toEqual({ kind: 'due', attempt: 1 });
    expect(decideRestart(policy, { count: 2, lastAt: 10_000 }, 0, 13_999)).toEqual({
      kind: 'backoff',
      attempt: 3,
      until: 14_000,
    });
    expect(decideRestart(policy, { count: 2, lastAt: 10_000 }, 0, 14_000)).toEqual({
      kind: 'due',
      attempt: 3,
    });
    expect(decideRestart(policy, undefined, undefined, 0)).toEqual({ kind: 'due', attempt: 1 });
  });

  test('past the budget, or in mode fail, it is a crash loop', () => {
    expect(decideRestart(policy, { count: 5, lastAt: 0 }, 0, 1e9)).toEqual({ kind: 'exhausted', used: 5 });
    expect(decideRestart({ ...policy, mode: 'fail' }, undefined, 0, 1e9)).toEqual({
      kind: 'exhausted',
      used: 0,
    });
  });

  test('a run that lasted resetAfterMs starts the budget afresh; a shorter one does not', () => {
    const resetting = { ...policy, resetAfterMs: 600_000 };
    const spent = { count: 5, lastAt: 1_000 };
    // Ran 10 minutes before it exited: restart 1, due once the first delay from its exit passed.
    expect(decideRestart(resetting, spent, 700_000, 700_500, 600_000)).toEqual({
      kind: 'backoff',
      attempt: 1,
      until: 701_000,
    });
    expect(decideRestart(resetting, spent, 700_000, 701_000, 600_000)).toEqual({ kind: 'due', attempt: 1 });
    // A minute short of it, or with no reset configured, the budget stays spent.
    expect(decideRestart(resetting, spent, 700_000, 1e9, 599_999)).toEqual({ kind: 'exhausted', used: 5 });
    expect(decideRestart(policy, spent, 700_000, 1e9, 600_000)).toEqual({ kind: 'exhausted', used: 5 });
    // A run of unknown length (never started, say) keeps it spent too.
    expect(decideRestart(resetting, spent, 700_000, 1e9)).toEqual({ kind: 'exhausted', used: 5 });
    // Mode fail is never reset into restarting.
    expect(decideRestart({ ...resetting, mode: 'fail' }, undefined, 0, 1e9, 1e9)).toEqual({
      kind: 'exhausted',
      used: 0,
    });
  });

  test('a restart recorded with its attempt number sets the count to it (1 after a reset)', () => {
    const key = restartKey('container/service/db', 'abcd');
    expect(recordRestart({ [key]: { count: 5, lastAt: 1 } }, key, 9, 1)).toEqual({
      [key]: { count: 1, lastAt: 9 },
    });
  });

  test('recording a restart counts it without touching the ledger given', () => {
    const key = restartKey('container/service/db', 'abcd');
    expect(key).toBe('container/service/db@abcd');
    const ledger = {};
    const once = recordRestart(ledger, key, 5);
    expect(recordRestart(once, key, 9)).toEqual({ [key]: { count: 2, lastAt: 9 } });
    expect(ledger).toEqual({});
  });

  test('never due before its delay, always due after it, never beyond the budget', () => {
    fc.assert(
      fc.property(fc.nat(7), fc.nat(100_000), fc.nat(100_000), (count, lastAt, elapsed) => {
        const d = decideRestart(policy, { count, lastAt }, undefined, lastAt + elapsed);
        if (count >= policy.maxRestarts) expect(d.kind).toBe('exhausted');
        else if (elapsed >= backoffDelayMs(policy, count))
          expect(d).toEqual({ kind: 'due', attempt: count + 1 });
        else
          expect(d).toEqual({
            kind: 'backoff',
            attempt: count + 1,
            until: lastAt + backoffDelayMs(policy, count),
          });
      }),
    );
  });
});
