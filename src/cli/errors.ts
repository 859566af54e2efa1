/**
 * Exit codes follow Terraform's `-detailed-exitcode`: 0 nothing to do, 1 error, 2 changes planned.
 * A usage error exits 1 too: 2 must keep meaning "changes planned" for scripts that branch on it.
 */
export const ExitCode = {
  ok: 0,
  error: 1,
  changesPlanned: 2,
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
