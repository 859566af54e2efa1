/** Captured streams for running the CLI's `main()` in-process. */
import { Readable } from 'node:stream';
import type { CliIo } from '../../../src/cli/io.js';

export interface CapturedIo extends CliIo {
  out(): string;
  err(): string;
}

export function captureIo(
  options: { stdin?: string; env?: Record<string, string | undefined>; cwd?: string; tty?: boolean } = {},
): CapturedIo {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text), isTTY: options.tty ?? false },
    stderr: { write: (text: string) => (err += text), isTTY: options.tty ?? false },
    stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    out: () => out,
    err: () => err,
  };
}
