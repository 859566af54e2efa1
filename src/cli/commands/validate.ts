/**
 * `validate`: the payload through the same door a worker uses (decode and compile against the
 * worker configuration), and nothing else; no Docker.
 */
import { type ParsedCommand } from '../args.js';
import { workerConfigOf } from '../context.js';
import { ExitCode } from '../errors.js';
import type { CliIo } from '../io.js';
import { compileFile } from './plan.js';

export async function validateCommand(parsed: ParsedCommand, io: CliIo): Promise<ExitCode> {
  const path = parsed.positionals[0]!;
  const config = workerConfigOf(parsed.values, io.env);
  // A PayloadValidationError carries every problem, each with its path; main() prints it as is.
  const desired = await compileFile(path, parsed.values, config, io);
  const services = [...new Set(desired.containers.map((c) => c.service))].sort();
  io.stdout.write(
    `${path === '-' ? 'stdin' : path}: valid, ${services.length} service${services.length === 1 ? '' : 's'}` +
      `${services.length > 0 ? ` (${services.join(', ')})` : ''}\n`,
  );
  return ExitCode.ok;
}
