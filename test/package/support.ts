/** Shared by the packaging tests: they test built files, which must exist and be current. */
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
