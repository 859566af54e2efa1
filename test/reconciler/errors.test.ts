/** The failures an executor reports and the loop ends with, as a caller tells them apart. */
import { describe, expect, it } from '@jest/globals';
import { ReconcileError, RetryableError, TerminalError, isTerminal } from '../../src/reconciler/errors.js';

describe('executor errors', () => {
  it('a terminal error is told from a retryable one, by type and by name', () => {
    const terminal = new TerminalError('image-not-found', 'no image ds-fixtures/none:latest');
    const retryable = new RetryableError('dockerd answered 503');
    expect(isTerminal(terminal)).toBe(true);
    expect(isTerminal(retryable)).toBe(false);
    expect(isTerminal(new Error('x'))).toBe(false);
    expect(String(terminal)).toBe('TerminalError: no image ds-fixtures/none:latest');
    expect(terminal.code).toBe('image-not-found');
    expect(String(retryable)).toBe('RetryableError: dockerd answered 503');
  });

  it('each keeps the error it wraps', () => {
    const cause = new Error('socket hang up');
    expect(new TerminalError('bad-spec', 'refused', { cause }).cause).toBe(cause);
    expect(new RetryableError('again', { cause }).cause).toBe(cause);
  });
});

describe('ReconcileError', () => {
  it('says why the loop ended, with the code of what ended it', () => {
    const cause = new TerminalError('crash-loop', 'db exited 5 times');
    const error = new ReconcileError('terminal', 'db keeps exiting', { code: 'crash-loop', cause });
    expect(String(error)).toBe('ReconcileError: db keeps exiting');
    expect(error.reason).toBe('terminal');
    expect(error.code).toBe('crash-loop');
    expect(error.cause).toBe(cause);
  });

  it('has no code and no cause when none is given', () => {
    const error = new ReconcileError('deadline', 'not ready after 120 s');
    expect(error.code).toBeUndefined();
    expect('cause' in error).toBe(false);
    expect(error.details).toEqual({});
  });
});
