/**
 * Exit codes follow Terraform's `-detailed-exitcode`: 0 nothing to do, 1 error, 2 changes planned.
 * A usage error exits 1 too: 2 must keep meaning "changes planned" for scripts that branch on it.
 *
 * `run` is driven by a program (a worker feature) that must tell its own mistakes from the task's
 * and from a failing service, so it has codes of its own (sysexits.h's for the first two):
 * 64 the worker called it wrongly (command line, configuration, credentials, a missing
 * `--task-network`), 65 the task's payload is invalid, 3 a service failed to start, 4 a service
 * failed while the task ran. Nothing of the task is left after any of them.
 */
export const ExitCode = {
  ok: 0,
  error: 1,
  changesPlanned: 2,
  startupFailed: 3,
  serviceFailed: 4,
  usage: 64,
  invalidPayload: 65,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Bad command line: the message is printed with a pointer to `--help`. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** An input the user gave that cannot be used; the message is already fit to print as is. */
export class InputError extends Error {
  override readonly name = 'InputError';
}
