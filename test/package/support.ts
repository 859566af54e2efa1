/** Shared by the packaging tests: they run built files, which must exist and be current. */
import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Fails, saying which command to run, when one of `files` is missing or older than what it is
 * built from (src/, the lock file, scripts/bundle.mjs): a stale build would test old code.
 */
export function requireFreshBuild(files: readonly string[], command: string): void {
  const sources = readdirSync('src', { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .concat('package.json', 'package-lock.json', 'scripts/bundle.mjs');
  const newest = sources.reduce(
    (found, file) => {
      const mtimeMs = statSync(file).mtimeMs;
      return mtimeMs > found.mtimeMs ? { file, mtimeMs } : found;
    },
    { file: '', mtimeMs: 0 },
  );
  for (const file of files) {
    let built: number;
    try {
      built = statSync(file).mtimeMs;
    } catch {
      throw new Error(`${file} is missing: run \`${command}\` (scripts/test.sh does before jest)`);
    }
    if (built < newest.mtimeMs) throw new Error(`${file} is older than ${newest.file}: run \`${command}\``);
  }
}

export interface Result {
  code: number;
  out: string;
  err: string;
}

/** Runs `file` to its end with exactly `env` (nothing inherited) and says how it ended. */
export function runFile(
  file: string,
  args: readonly string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<Result> {
  return new Promise((done) => {
    execFile(
      file,
      args,
      { ...options, timeout: 180_000, maxBuffer: 16 * 1024 ** 2 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        done({ code, out: stdout, err: stderr });
      },
    );
  });
}
