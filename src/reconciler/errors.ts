/**
 * The two kinds of failure an executor reports, and the one kind the loop ends with.
 *
 * A `RetryableError` is worth another try after a fresh look at Docker (timeouts, 5xx, 409
 * conflicts, a network that still has endpoints). A `TerminalError` is not: acting again cannot
 * fix it (an image that does not exist and cannot be pulled, a name held by an object that is not
 * ours, a crash-looping service, a spec Docker refuses). Messages name objects, never secrets.
 */
import type { Blocked } from './actions.js';
import type { ActionInfo } from './describe.js';

export type TerminalCode =
  | 'name-conflict'
  | 'image-not-ours'
  | 'image-not-found'
  | 'crash-loop'
  | 'image-missing'
  | 'network-missing'
  | 'bad-spec'
  | 'isolation-guard'
  | 'network-pool-exhausted'
  | 'image-pull-unauthorized'
  | 'image-download-failed';

export class TerminalError extends Error {
  override readonly name = 'TerminalError';
  constructor(
    readonly code: TerminalCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class RetryableError extends Error {
  override readonly name = 'RetryableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isTerminal(error: unknown): error is TerminalError {
  return error instanceof TerminalError;
}

/**
 * Why a reconcile ended without converging. `terminal`: an executor hit a `TerminalError`;
 * `blocked`: the plan names a condition acting cannot get past; `retries-exhausted`: one action
 * kept failing retryably past its budget; `deadline` and `aborted` are the caller's limits.
 */
export type ReconcileFailureReason = 'terminal' | 'blocked' | 'retries-exhausted' | 'deadline' | 'aborted';

export class ReconcileError extends Error {
  override readonly name = 'ReconcileError';
  constructor(
    readonly reason: ReconcileFailureReason,
    message: string,
    readonly details: {
      /** For `terminal`: the executor's code; for `blocked`: the first blocked condition's code. */
      code?: TerminalCode;
      blocked?: Blocked[];
      /** The action that failed, by id. */
      actionId?: string;
      /** The action that failed: its kind, target, node and service. */
      action?: ActionInfo;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }

  get code(): TerminalCode | undefined {
    return this.details.code;
  }
}
