/**
 * What a command may touch of the outside world, as one value: the tests run `main()` in-process
 * with captured streams, the bin hands it the real process.
 */
import type { Readable } from 'node:stream';

export interface OutputStream {
  write(text: string): unknown;
  /** Only a tty gets redrawn progress; anything else gets plain lines. */
  isTTY?: boolean;
  columns?: number;
}

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: Readable;
  env: Record<string, string | undefined>;
  /** Working directory that relative input paths are read from. */
  cwd: string;
  /** Fires on SIGINT/SIGTERM: long commands stop waiting and exit non-zero. */
  signal?: AbortSignal;
  /**
   * Listens to a process signal for as long as the returned function is not called. While one
   * listens, the signal no longer ends the process by default (a second SIGTERM during `run`'s
   * teardown must not cut it short).
   */
  onSignal?: (signal: 'SIGHUP' | 'SIGINT' | 'SIGTERM', listener: () => void) => () => void;
}

export function processIo(signal?: AbortSignal): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    ...(signal ? { signal } : {}),
    onSignal: (name, listener) => {
      process.on(name, listener);
      return () => process.off(name, listener);
    },
  };
}
